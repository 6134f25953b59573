import { render } from 'preact';
import { App } from './app.js';
import { startLive } from './store.js';
import './styles.css';

const root = document.getElementById('app');
if (root) {
  root.replaceChildren();
  startLive();
  render(<App />, root);
}
