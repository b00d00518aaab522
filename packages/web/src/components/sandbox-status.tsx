import type { SandboxStatus } from '@coffer/client';
import { useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../api';
import { useCall } from '../session';
import { FormError } from './form-error';

const MODE: Record<SandboxStatus['mode'], string> = {
  bubblewrap: 'Users’ code runs in a sandbox (bubblewrap).',
  off: 'Users’ code runs WITHOUT a sandbox (COFFER_SANDBOX=off): any user’s recipe can read what the server’s account can. Only for a single-user machine.',
  unavailable: 'No sandbox can be made on this machine: users’ code is refused.',
  starting: 'The server is still checking its sandbox.',
};

const mib = (n: number) => `${Math.round(n / 1024 / 1024)} MiB`;

/** How this server isolates users' code, for administrators: a warning when it does not. */
export function SandboxStatusCard() {
  const call = useCall();
  const [status, setStatus] = useState<SandboxStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    call(() => api.admin.sandbox()).then(setStatus, (e: unknown) => setError(messageOf(e)));
  }, [call]);

  return (
    <section class="card" aria-labelledby="sandbox">
      <h2 id="sandbox">Users’ code</h2>
      <FormError message={error} />
      {status && (
        <>
          <p
            class={status.mode === 'bubblewrap' ? undefined : 'warning'}
            role={status.mode === 'bubblewrap' ? undefined : 'alert'}
          >
            {MODE[status.mode]}
          </p>
          {status.problem && (
            <dl class="facts">
              <dt>Cause</dt>
              <dd>{status.problem.cause}</dd>
              <dt>Fix</dt>
              <dd>{status.problem.fix}</dd>
            </dl>
          )}
          <dl class="facts">
            <dt>Runs as</dt>
            <dd>{status.accounts}</dd>
            <dt>Network</dt>
            <dd>{status.network === 'host' ? 'the machine’s network' : 'Coffer only'}</dd>
            <dt>Limits per run</dt>
            <dd>
              {mib(status.limits.memoryBytes)} of memory, {status.limits.processes} processes,{' '}
              {status.limits.cpuSeconds} s of CPU time, {mib(status.limits.fileBytes)} of files
            </dd>
          </dl>
        </>
      )}
    </section>
  );
}
