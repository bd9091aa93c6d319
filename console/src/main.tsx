// Start-up: read /console-config.json, finish a Cognito redirect if there is one, then render.
import { render } from 'preact';
import { App } from './app.tsx';
import { completeCognitoSignIn, saveSession } from './auth/session.ts';
import { loadConfig } from './config.ts';
import './styles.css';

async function start(): Promise<void> {
  const root = document.getElementById('app')!;
  try {
    const config = await loadConfig();
    if (config.mode === 'cognito') {
      const url = new URL(window.location.href);
      if (url.searchParams.has('code') || url.searchParams.has('error')) {
        const session = await completeCognitoSignIn(config, url);
        if (session) saveSession(session);
        history.replaceState(null, '', url.pathname + (url.hash || '#/shares'));
      }
    }
    render(<App config={config} />, root);
  } catch (err) {
    render(
      <main id="main">
        <h1>Share backups console</h1>
        <p class="error" role="alert">The console could not start: {(err as Error).message}</p>
      </main>,
      root,
    );
  }
}

void start();
