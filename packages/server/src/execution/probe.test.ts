import { describe, expect, it } from 'vitest';
import { explainProbeFailure } from './probe.js';

describe('why a sandbox cannot be made, and what to do', () => {
  it('bubblewrap missing: how to install it, and the opt-out', () => {
    const enoent = Object.assign(new Error('spawn /usr/bin/bwrap ENOENT'), { code: 'ENOENT' });
    const p = explainProbeFailure('/usr/bin/bwrap', { code: null, error: enoent, stderr: '' });
    expect(p.cause).toBe('bubblewrap is not installed (/usr/bin/bwrap was not found)');
    expect(p.fix).toMatch(/apt-get install bubblewrap/);
    expect(p.fix).toMatch(/COFFER_SANDBOX=off/);
  });

  it('user namespaces refused (sysctl, AppArmor, a container’s seccomp profile)', () => {
    for (const stderr of [
      'bwrap: No permissions to creating new namespace, likely because the kernel does not allow non-privileged user namespaces.',
      'bwrap: setting up uid map: Permission denied',
      'bwrap: Creating new namespace failed: Operation not permitted',
    ]) {
      const p = explainProbeFailure('/usr/bin/bwrap', { code: 1, stderr });
      expect(p.cause).toMatch(/^user namespaces cannot be created here/);
      expect(p.fix).toMatch(/user\.max_user_namespaces/);
      expect(p.fix).toMatch(/seccomp/);
    }
  });

  it('anything else: what bubblewrap said', () => {
    const p = explainProbeFailure('/usr/bin/bwrap', {
      code: 1,
      stderr: "bwrap: Can't mount proc on /newroot/proc: Device busy",
    });
    expect(p.cause).toMatch(/Can't mount proc/);
  });
});
