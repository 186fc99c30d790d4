import { createElement as h, useEffect, useState, useSyncExternalStore, type ReactElement } from 'react';
import { Box, Text, useApp, useInput, useStdout } from 'ink';
import { renderTop, type Tone, type ViewLine } from './render.js';
import type { TopData } from './source.js';

// The terminal view of `top` and of the demo, with ink: it redraws in place, reads keys in raw mode, and gives the
// terminal back (cursor, cooked mode) when it unmounts. Content comes from the pure renderer in render.ts.

const STYLE: Record<Tone, { color?: string; bold?: boolean; dimColor?: boolean }> = {
  title: { color: 'cyan', bold: true },
  head: { bold: true },
  plain: {},
  ok: { color: 'green' },
  warn: { color: 'yellow' },
  bad: { color: 'red' },
  dim: { dimColor: true },
};

/** Lines with their tones; an empty line keeps its row. */
export function Lines(props: { lines: ViewLine[] }): ReactElement {
  return h(
    Box,
    { flexDirection: 'column' },
    props.lines.map((l, i) => h(Text, { key: i, wrap: 'truncate', ...STYLE[l.tone] }, l.text || ' ')),
  );
}

/** One frame for known data: what the tests render to a string. */
export function TopFrame(props: { data: TopData; now: number; width: number; rows?: number }): ReactElement {
  return h(Lines, { lines: renderTop(props.data, { now: props.now, width: props.width, rows: props.rows }) });
}

/** Story lines shown above the view (the demo's narration); a tiny external store. */
export interface Feed {
  lines(): readonly string[];
  subscribe(listener: () => void): () => void;
}

export interface LiveViewProps {
  load: () => Promise<TopData>;
  intervalMs: number;
  feed?: Feed;
  /** How many narration lines to keep on screen. */
  feedRows?: number;
  hint: string;
}

// getSnapshot must return the same array every time, or React re-renders for ever.
const NO_LINES: readonly string[] = [];
const NO_FEED: Feed = { lines: () => NO_LINES, subscribe: () => () => undefined };

/** Refreshes every `intervalMs` until `q`, Escape or Ctrl-C. */
export function LiveView(props: LiveViewProps): ReactElement {
  const { exit } = useApp();
  const { stdout } = useStdout();
  const [frame, setFrame] = useState<{ data: TopData; at: number } | undefined>();
  const feed = props.feed ?? NO_FEED;
  const story = useSyncExternalStore(feed.subscribe, feed.lines);
  useInput((input, key) => {
    if (input === 'q' || key.escape || (key.ctrl && input === 'c')) exit();
  });
  useEffect(() => {
    let alive = true;
    let timer: NodeJS.Timeout | undefined;
    const tick = async () => {
      const data = await props.load();
      if (!alive) return;
      setFrame({ data, at: Date.now() });
      timer = setTimeout(() => void tick(), props.intervalMs);
    };
    void tick();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [props.load, props.intervalMs]);

  const width = Math.max(40, (stdout.columns ?? 100) - 1);
  const feedRows = props.feedRows ?? 0;
  // Each list gets a share of the rows the fixed lines leave.
  const rows = Math.max(2, Math.floor(((stdout.rows ?? 40) - 22 - feedRows) / 4));
  const narration = story.slice(-feedRows).map((text): ViewLine => ({ text, tone: 'plain' }));
  return h(
    Box,
    { flexDirection: 'column' },
    narration.length ? h(Lines, { lines: [...narration, { text: '', tone: 'plain' }] }) : null,
    frame
      ? h(TopFrame, { data: frame.data, now: frame.at, width, rows })
      : h(Text, { dimColor: true }, 'asking the evaluator...'),
    h(Text, { dimColor: true }, props.hint),
  );
}
