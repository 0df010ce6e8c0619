import { describeExampleApp } from './example-app.js';

describeExampleApp('vue-vite');
