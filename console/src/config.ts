// The console's start-up configuration, /console-config.json next to index.html (the contract
// with the AWS hosting stack): {"mode": "local"} on `npm start`, or the Cognito settings on AWS.

export interface CognitoSettings {
  domain: string;
  clientId: string;
  redirectUri: string;
  scopes: string[];
}

export type ConsoleConfig = { mode: 'local'; apiUrl?: string } | { mode: 'cognito'; apiUrl: string; cognito: CognitoSettings };

export async function loadConfig(): Promise<ConsoleConfig> {
  const res = await fetch(new URL('console-config.json', document.baseURI), { cache: 'no-store' });
  if (!res.ok) throw new Error(`console-config.json could not be read (HTTP ${res.status})`);
  const config = (await res.json()) as ConsoleConfig;
  if (config.mode !== 'local' && config.mode !== 'cognito') throw new Error('console-config.json: "mode" must be "local" or "cognito"');
  return config;
}

/** The API's origin: the configured one, or (locally) the page's own. */
export function apiBase(config: ConsoleConfig): string {
  return (config.apiUrl ?? window.location.origin).replace(/\/+$/, '');
}
