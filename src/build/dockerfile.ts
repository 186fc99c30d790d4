// The project's Dockerfile read as data, for what runs its steps without a container: the image-build test (which
// builds and starts the image's worker here) and the benchmark (which starts its worker the way the image does).
// Only the forms our Dockerfile uses: one instruction a line, `AS name` on FROM, `--from=` on COPY.

export interface DockerfileStage {
  name?: string;
  steps: { op: 'COPY' | 'RUN' | 'WORKDIR' | 'ENV' | 'USER' | 'ENTRYPOINT' | 'CMD'; args: string; from?: string }[];
}

/** The Dockerfile's stages, instructions in order (comments and blank lines dropped). */
export function parseDockerfile(text: string): DockerfileStage[] {
  const stages: DockerfileStage[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [op, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op === 'FROM') {
      stages.push({ name: /\sAS\s+(\S+)$/i.exec(line)?.[1], steps: [] });
      continue;
    }
    const from = /^--from=(\S+)\s+/.exec(args);
    stages.at(-1)!.steps.push({
      op: op as DockerfileStage['steps'][number]['op'],
      args: from ? args.slice(from[0].length) : args,
      from: from?.[1],
    });
  }
  return stages;
}
