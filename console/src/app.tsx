// The console's frame: sign-in, navigation and the hash routes (#/shares, #/backups,
// #/restores, #/restores/<id>, #/admin), so any static host can serve it.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { apiClient, type Api } from './api/client.ts';
import { isAdmin, loadSession, localSignIn, saveSession, startCognitoSignIn, type Session } from './auth/session.ts';
import { apiBase, type ConsoleConfig } from './config.ts';
import { AdminPage } from './pages/admin.tsx';
import { BackupsPage } from './pages/backups.tsx';
import { RestoreDetail, RestoresPage } from './pages/restores.tsx';
import { SharesPage } from './pages/shares.tsx';
import { ErrorMessage } from './ui.tsx';

export interface PageProps {
  api: Api;
  session: Session;
  /** the route's parameters: #/backups?share=<id> gives { share: id } */
  params: URLSearchParams;
}

function useHash(): string {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const onChange = () => setHash(window.location.hash);
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return hash;
}

export function App(props: { config: ConsoleConfig }) {
  const [session, setSession] = useState<Session | undefined>(loadSession);
  const hash = useHash();
  const api = useMemo(
    () =>
      apiClient(apiBase(props.config), () => session?.token, () => {
        saveSession(undefined);
        setSession(undefined);
      }),
    [session, props.config],
  );
  const [path = '/shares', query = ''] = hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query);

  useEffect(() => {
    const title = path.startsWith('/restores') ? 'Restores' : path.startsWith('/backups') ? 'Backups' : path.startsWith('/admin') ? 'Admin' : 'Shares';
    document.title = session ? `${title} · Share backups console` : 'Sign in · Share backups console';
    document.getElementById('main')?.focus();
  }, [path, session]);

  if (!session) {
    return <SignIn config={props.config} onSignedIn={(s) => { saveSession(s); setSession(s); }} />;
  }
  const pageProps: PageProps = { api, session, params };
  let page;
  const restoreMatch = /^\/restores\/([^/]+)$/.exec(path);
  if (restoreMatch) page = <RestoreDetail {...pageProps} id={decodeURIComponent(restoreMatch[1]!)} />;
  else if (path === '/restores') page = <RestoresPage {...pageProps} />;
  else if (path === '/backups') page = <BackupsPage {...pageProps} />;
  else if (path === '/admin' && isAdmin(session)) page = <AdminPage {...pageProps} />;
  else page = <SharesPage {...pageProps} />;
  const current = (p: string) => (path.startsWith(p) ? 'page' : undefined);
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Share backups</span>
        <nav aria-label="Main">
          <a href="#/shares" aria-current={current('/shares')}>Shares</a>
          <a href="#/backups" aria-current={current('/backups')}>Backups</a>
          <a href="#/restores" aria-current={current('/restores')}>Restores</a>
          {isAdmin(session) ? <a href="#/admin" aria-current={current('/admin')}>Admin</a> : null}
        </nav>
        <span class="who">
          Project <strong>{session.project}</strong> · {session.roles.join(', ')}
          <button type="button" class="link" onClick={() => { saveSession(undefined); setSession(undefined); }}>
            Sign out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}

function SignIn(props: { config: ConsoleConfig; onSignedIn: (s: Session) => void }) {
  const [project, setProject] = useState('demo');
  const [role, setRole] = useState('member');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  if (props.config.mode === 'cognito') {
    return (
      <main id="main" tabIndex={-1} class="signin">
        <h1>Share backups console</h1>
        <ErrorMessage error={error} />
        <button type="button" class="primary" onClick={() => startCognitoSignIn(props.config).catch((e: Error) => setError(e.message))}>
          Sign in
        </button>
      </main>
    );
  }
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      props.onSignedIn(await localSignIn(project.trim(), role));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" tabIndex={-1} class="signin">
      <h1>Share backups console</h1>
      <p class="notice">
        <strong>Local sign-in.</strong> This page exists only on the local stack (<code>npm start</code>): it mints a token
        for any project and role you choose. On AWS you sign in with your organisation's account instead.
      </p>
      <form onSubmit={submit}>
        <label for="signin-project">Project</label>
        <input id="signin-project" value={project} required pattern="[A-Za-z0-9][A-Za-z0-9_\-]{0,63}" onInput={(e) => setProject(e.currentTarget.value)} />
        <label for="signin-role">Role</label>
        <select id="signin-role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
          <option value="reader">reader (look only)</option>
          <option value="member">member (create, change, restore)</option>
          <option value="admin">admin (every project, status resets)</option>
        </select>
        <ErrorMessage error={error} />
        <button type="submit" class="primary" disabled={busy}>Sign in</button>
      </form>
    </main>
  );
}
