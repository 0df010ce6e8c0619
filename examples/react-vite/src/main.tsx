import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.js';

const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root element');

// StrictMode mounts, unmounts and remounts the provider in development: it still opens one socket.
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
