// Loads the ASL files the way Step Functions deploys them (CDK definitionSubstitutions), and lists
// the Task states, nested ones included, so each can be given a local handler by its name.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';

export interface LoadedStateMachine {
  name: string;
  arn: string;
  /** the definition after substitution, as DescribeStateMachine returns it */
  definitionText: string;
  definition: StateMachineDefinition;
  creationDate: Date;
}

export interface TaskStateRef {
  name: string;
  resource: string;
}

/** Replaces every `${Name}`; a name without a value is an error, not a silent empty string. */
export function substitute(text: string, substitutions: Record<string, string>): string {
  const missing = new Set<string>();
  const result = text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (whole, name: string) => {
    const value = substitutions[name];
    if (value === undefined) {
      missing.add(name);
      return whole;
    }
    // The value lands inside a JSON string literal: escape it as one.
    return JSON.stringify(value).slice(1, -1);
  });
  if (missing.size > 0) throw new Error(`definition substitutions missing: ${[...missing].join(', ')}`);
  return result;
}

export function loadStateMachines(
  definitionsDir: string, substitutions: Record<string, string>, region: string, accountId: string,
): Map<string, LoadedStateMachine> {
  const machines = new Map<string, LoadedStateMachine>();
  for (const file of readdirSync(definitionsDir).filter((f) => f.endsWith('.asl.json')).sort()) {
    const name = basename(file, '.asl.json');
    const definitionText = substitute(readFileSync(join(definitionsDir, file), 'utf8'), substitutions);
    const arn = `arn:aws:states:${region}:${accountId}:stateMachine:${name}`;
    machines.set(arn, { name, arn, definitionText, definition: JSON.parse(definitionText) as StateMachineDefinition, creationDate: new Date() });
  }
  return machines;
}

interface StatesContainer {
  States?: Record<string, Record<string, unknown>>;
}

/** Every Task state, including those inside Parallel branches and Map iterators. */
export function findTaskStates(definition: StatesContainer): TaskStateRef[] {
  const found: TaskStateRef[] = [];
  for (const [name, state] of Object.entries(definition.States ?? {})) {
    if (state.Type === 'Task' && typeof state.Resource === 'string') found.push({ name, resource: state.Resource });
    if (state.Type === 'Parallel' && Array.isArray(state.Branches)) {
      for (const branch of state.Branches as StatesContainer[]) found.push(...findTaskStates(branch));
    }
    if (state.Type === 'Map') {
      const inner = (state.ItemProcessor ?? state.Iterator) as StatesContainer | undefined;
      if (inner) found.push(...findTaskStates(inner));
    }
  }
  return found;
}
