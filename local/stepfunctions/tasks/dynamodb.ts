// The optimized DynamoDB integration (arn:aws:states:::dynamodb:<action>): the same Parameters
// (they are the API's PascalCase input) sent to DynamoDB Local; service errors renamed
// DynamoDB.<Exception> as Step Functions names them.
import {
  DeleteItemCommand, DynamoDBServiceException, GetItemCommand, PutItemCommand, UpdateItemCommand,
  type DynamoDBClient, type DeleteItemCommandInput, type GetItemCommandInput, type PutItemCommandInput,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { TaskError, type TaskHandler } from './task-error.ts';

export const DYNAMODB_RESOURCES = {
  'arn:aws:states:::dynamodb:getItem': 'getItem',
  'arn:aws:states:::dynamodb:putItem': 'putItem',
  'arn:aws:states:::dynamodb:updateItem': 'updateItem',
  'arn:aws:states:::dynamodb:deleteItem': 'deleteItem',
} as const;
export type DynamoDbAction = (typeof DYNAMODB_RESOURCES)[keyof typeof DYNAMODB_RESOURCES];

function commandFor(action: DynamoDbAction, parameters: unknown) {
  switch (action) {
    case 'getItem': return new GetItemCommand(parameters as GetItemCommandInput);
    case 'putItem': return new PutItemCommand(parameters as PutItemCommandInput);
    case 'updateItem': return new UpdateItemCommand(parameters as UpdateItemCommandInput);
    case 'deleteItem': return new DeleteItemCommand(parameters as DeleteItemCommandInput);
  }
}

export function dynamodbTask(client: DynamoDBClient, action: DynamoDbAction): TaskHandler {
  return async (parameters) => {
    try {
      // Each command's output minus the SDK's $metadata is what the state receives.
      const { $metadata: _metadata, ...result } = await client.send(commandFor(action, parameters) as GetItemCommand);
      return result;
    } catch (err) {
      if (err instanceof DynamoDBServiceException) throw new TaskError(`DynamoDB.${err.name}`, err.message);
      throw new TaskError('States.TaskFailed', err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    }
  };
}
