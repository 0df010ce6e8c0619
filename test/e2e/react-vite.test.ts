import { describeExampleApp } from './example-app.js';

describeExampleApp('react-vite');
