import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { CofferClient } from './client.js';

/*
 * Finding the server from Node, in the order the DSS client packages use (see the wire spec):
 * 0. setRemote(url, apiKey) called by the code; 1. inside a job, DKU_API_TICKET with DKU_BACKEND_HOST,
 * DKU_BACKEND_PORT and DKU_BACKEND_PROTOCOL; 2. DKU_DSS_URL and DKU_API_KEY; 3. ~/.dataiku/config.json.
 * Kept apart from the main entry so the browser bundle never imports node: modules.
 */

let remote: { url: string; apiKey: string } | undefined;

/** Use this server and key from now on, whatever the environment says; no arguments forgets them. */
export function setRemote(url?: string, apiKey?: string): void {
  remote = url && apiKey ? { url, apiKey } : undefined;
}

/** A client for the server and identity this code runs with; throws saying what to set if none. */
export function apiClient(env: Record<string, string | undefined> = process.env): CofferClient {
  if (remote) return new CofferClient({ baseUrl: remote.url, apiKey: remote.apiKey });
  if (env.DKU_API_TICKET) {
    if (!env.DKU_BACKEND_PORT) throw new Error('DKU_API_TICKET is set but DKU_BACKEND_PORT is not');
    const protocol = env.DKU_BACKEND_PROTOCOL || 'http';
    const host = env.DKU_BACKEND_HOST || '127.0.0.1';
    return new CofferClient({
      baseUrl: `${protocol}://${host}:${env.DKU_BACKEND_PORT}`,
      ticket: env.DKU_API_TICKET,
    });
  }
  if (env.DKU_API_KEY && !env.DKU_DSS_URL)
    throw new Error("DKU_API_KEY is set but DKU_DSS_URL is not: set DKU_DSS_URL to the server's address too");
  if (env.DKU_DSS_URL && !env.DKU_API_KEY)
    throw new Error('DKU_DSS_URL is set but DKU_API_KEY is not: set DKU_API_KEY to a personal API key too');
  if (env.DKU_DSS_URL && env.DKU_API_KEY)
    return new CofferClient({ baseUrl: env.DKU_DSS_URL, apiKey: env.DKU_API_KEY });
  const file = path.join(env.HOME || homedir(), '.dataiku', 'config.json');
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // no config file: fall through to the error below
  }
  if (text !== undefined) {
    const config = JSON.parse(text) as {
      dss_instances?: Record<string, { url?: string; api_key?: string }>;
      default_instance?: string;
    };
    const name = env.DKU_DEFAULT_INSTANCE || config.default_instance;
    const instance = name ? config.dss_instances?.[name] : undefined;
    if (!instance?.url || !instance.api_key)
      throw new Error(`${file} has no instance ${JSON.stringify(name ?? '')} with a url and an api_key`);
    return new CofferClient({ baseUrl: instance.url, apiKey: instance.api_key });
  }
  throw new Error(
    'no Coffer server configured: call setRemote(url, apiKey), or set DKU_DSS_URL and DKU_API_KEY, or write ~/.dataiku/config.json (inside a job, DKU_API_TICKET is set for you)',
  );
}

export * from './index.js';
