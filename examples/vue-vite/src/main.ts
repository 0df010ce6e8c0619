import { createTaskStatusPlugin } from 'task-status-client/vue';
import { createApp } from 'vue';
import App from './App.vue';
import { auth } from './auth.js';

createApp(App)
  .use(
    createTaskStatusPlugin({
      options: {
        // Same origin as the page: Vite's dev proxy (vite.config.ts) forwards /api to the backend.
        baseUrl: '',
        userId: auth.userId,
        // Read on every connect attempt, so a reconnect always uses the app's current token. When
        // the server refuses a token, the client asks once more with reason `auth-retry`.
        token: ({ reason }) => (reason === 'auth-retry' ? auth.refresh() : auth.accessToken),
      },
    }),
  )
  .mount('#app');
