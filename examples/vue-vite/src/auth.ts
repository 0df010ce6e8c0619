/**
 * Stands in for your app's auth: where the signed-in user and the current access token live.
 * Here they come from localStorage, so you can try a bad token from the devtools console:
 * `localStorage.setItem('access_token', 'not-a-valid-token'); location.reload()`.
 */
export const auth = {
  get userId(): number {
    return Number(localStorage.getItem('user_id') ?? 1);
  },
  get accessToken(): string {
    return localStorage.getItem('access_token') ?? 'demo-token';
  },
  /** Your app would call its refresh endpoint here and store the new token. */
  async refresh(): Promise<string> {
    return this.accessToken;
  },
};
