// .drone.yml: every YAML document's steps and their commands.

export interface DroneStep {
  pipeline: string;
  pipelineType: string;
  name: string;
  commands: string[];
  environment: Record<string, unknown>;
  image?: string;
}

export interface DroneFile {
  steps: DroneStep[];
  errors: string[];
}

function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function asCommands(value: unknown): string[] {
  if (typeof value === 'string') return value.split('\n').filter((l) => l.trim() !== '');
  if (Array.isArray(value)) return value.flatMap((v) => (typeof v === 'string' ? v.split('\n').filter((l) => l.trim() !== '') : []));
  return [];
}

/** Parses every document; `yaml` loads on first use (it is not needed before the first nix call). */
export async function parseDroneYaml(text: string): Promise<DroneFile> {
  const { parseAllDocuments } = await import('yaml');
  const steps: DroneStep[] = [];
  const errors: string[] = [];
  for (const doc of parseAllDocuments(text)) {
    if ('errors' in doc && doc.errors.length) {
      errors.push(...doc.errors.map((e) => e.message));
      continue;
    }
    const data = asRecord(doc.toJS());
    if (data.kind !== undefined && data.kind !== 'pipeline') continue; // secrets, signatures
    const pipeline = typeof data.name === 'string' ? data.name : 'default';
    const pipelineType = typeof data.type === 'string' ? data.type : 'docker';
    // Drone 1.x `steps:` list; 0.8-style `pipeline:` map of name -> step.
    const rawSteps: [string, unknown][] = Array.isArray(data.steps)
      ? data.steps.map((s, i) => [String(asRecord(s).name ?? `step-${i + 1}`), s])
      : Object.entries(asRecord(data.pipeline));
    for (const [name, raw] of rawSteps) {
      const step = asRecord(raw);
      steps.push({
        pipeline,
        pipelineType,
        name,
        commands: [...asCommands(step.commands), ...asCommands(step.command)],
        environment: asRecord(step.environment),
        ...(typeof step.image === 'string' ? { image: step.image } : {}),
      });
    }
  }
  return { steps, errors };
}
