// `cdk synth|diff|deploy` entry (cdk.json "app"): the stage comes from context (-c stage=<name>).
import { buildApp } from './app.ts';

buildApp().app.synth();
