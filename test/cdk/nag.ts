// cdk-nag as the tests look at it: the findings its AWS Solutions pack makes with every
// acknowledgement ignored, and the acknowledgements the app carries, so a test can check that each
// acknowledgement covers a finding the pack really makes on a resource under it (no stale or
// over-wide acknowledgement) and that nothing else is found.
import { Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

export interface Finding { rule: string; path: string }
export interface Acknowledgement { rule: string; path: string; reason: string }

/** Every finding of the AWS Solutions pack on the app, acknowledged or not. */
export function rawFindings(app: App): Finding[] {
  const pack = new AwsSolutionsChecks(app);
  // NagPack's private check of the acknowledged-rules metadata: off, to see what it would report
  (pack as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
  return pack.validateScope(app).violations.flatMap((v) => v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath ?? '' })));
}

/** The findings the pack reports as the synth sees them (acknowledgements honoured). */
export function unacknowledgedFindings(app: App): Finding[] {
  return new AwsSolutionsChecks(app).validateScope(app).violations
    .flatMap((v) => v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath ?? '' })));
}

export function acknowledgements(app: App): Acknowledgement[] {
  return app.node.findAll().flatMap((c) => c.node.metadata
    .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY && m.data)
    .flatMap((m) => Object.entries(m.data as Record<string, string>)
      .map(([rule, reason]) => ({ rule: rule.replace(/^annotation::/i, ''), path: c.node.path, reason }))));
}

/** Acknowledgements no finding of the pack falls under: stale, or naming more than is there. */
export function unusedAcknowledgements(app: App): Acknowledgement[] {
  const findings = rawFindings(app);
  return acknowledgements(app).filter((a) => a.rule.startsWith('AwsSolutions-')
    && !findings.some((f) => f.rule === a.rule && (f.path === a.path || f.path.startsWith(`${a.path}/`))));
}
