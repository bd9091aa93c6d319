// Starts the workflows (docs/developer-reference.md "Workflows"): StartExecution named after the
// restore or backup id, so a retried start is idempotent.
import { AwsHttpClient, STEP_FUNCTIONS } from './aws-http.ts';

export interface RestoreWorkflowInput {
  restore_id: string;
  backup_id: string;
  share_id: string;
  source_share_id: string;
  project_id: string;
  kind: 'restore' | 'create_share';
}

export interface BackupWorkflowInput {
  backup_id: string;
  share_id: string;
  project_id: string;
}

export interface WorkflowStarter {
  /** returns the execution ARN */
  startRestore(input: RestoreWorkflowInput): Promise<string>;
  startBackup(input: BackupWorkflowInput): Promise<string>;
}

export class StepFunctionsStarter implements WorkflowStarter {
  constructor(
    private readonly arns: { restore: string; backup: string },
    private readonly client: AwsHttpClient = new AwsHttpClient(STEP_FUNCTIONS),
  ) {}

  private async start(stateMachineArn: string, name: string, input: object): Promise<string> {
    const out = await this.client.json<{ executionArn?: string }>('AWSStepFunctions.StartExecution', { stateMachineArn, name, input: JSON.stringify(input) });
    if (!out.executionArn) throw new Error(`StartExecution ${name} returned no executionArn`);
    return out.executionArn;
  }

  startRestore(input: RestoreWorkflowInput) {
    return this.start(this.arns.restore, input.restore_id, input);
  }

  startBackup(input: BackupWorkflowInput) {
    return this.start(this.arns.backup, input.backup_id, input);
  }
}
