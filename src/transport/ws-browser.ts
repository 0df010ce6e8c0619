// Stands in for isomorphic-ws in the browser build, so no Node module is bundled.
const WebSocketImpl = globalThis.WebSocket;
export default WebSocketImpl;
