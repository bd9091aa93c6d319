// Types of the generated validators (schema.ts writes the JavaScript beside this file).
interface GeneratedValidator {
  (value: unknown): boolean;
  errors?: { instancePath: string; message?: string }[] | null;
}
export declare const validateEntry: GeneratedValidator;
export declare const validateSummary: GeneratedValidator;
