import type { ReactElement } from 'react';
import type { Instance, RenderOptions } from 'ink';

/** The variables ink (through is-in-ci) reads, once, when it is first loaded. */
const CI_VARIABLES = ['CI', 'CONTINUOUS_INTEGRATION'] as const;

/**
 * Loads ink and the live view for a real terminal. Ink draws no frame but the last when CI or CONTINUOUS_INTEGRATION
 * is set, and it reads them once, when it is first loaded: a live view started from a shell that has them (a CI job,
 * or tmux started from one) would show a blank screen until it exits. The callers have checked that stdin and stdout
 * are terminals, so ink is loaded with those variables hidden and they are put back at once (children and the rest of
 * the process still see them). Nothing may load ink before this, so `top` and the demo import it only through here.
 */
export async function loadLiveView(): Promise<{
  render: (tree: ReactElement, options: RenderOptions) => Instance;
  LiveView: typeof import('./app.js').LiveView;
}> {
  const saved = CI_VARIABLES.map((name) => [name, process.env[name]] as const);
  for (const [name] of saved) delete process.env[name];
  try {
    const [{ render }, { LiveView }] = await Promise.all([import('ink'), import('./app.js')]);
    return { render, LiveView };
  } finally {
    for (const [name, value] of saved) if (value !== undefined) process.env[name] = value;
  }
}
