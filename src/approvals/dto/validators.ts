import { registerDecorator, type ValidationArguments, type ValidationOptions } from 'class-validator';

function jsonBytes(value: unknown): number | undefined {
  try {
    return Buffer.byteLength(JSON.stringify(value));
  } catch {
    return undefined;
  }
}

/** The value's JSON serialisation is at most `limit` bytes. */
export function MaxJsonBytes(limit: number, options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'maxJsonBytes',
      target: target.constructor,
      propertyName: propertyName as string,
      options,
      constraints: [limit],
      validator: {
        validate: (value: unknown) => {
          const size = jsonBytes(value);
          return size !== undefined && size <= limit;
        },
        defaultMessage: (args: ValidationArguments) => `${args.property} must be at most ${limit} bytes of JSON`,
      },
    });
}

function weightsOf(value: unknown): number[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const weights = value.map((entry) => (entry as { weight?: unknown } | null)?.weight);
  return weights.every((w): w is number => typeof w === 'number' && Number.isFinite(w)) ? weights : undefined;
}

/**
 * The `weight`s of an array of objects add up to 1 within `tolerance`. Arrays with a missing or non-numeric
 * weight pass here: the nested validation already reports that entry by its own path.
 */
export function WeightsSumToOne(tolerance: number, options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'weightsSumToOne',
      target: target.constructor,
      propertyName: propertyName as string,
      options,
      constraints: [tolerance],
      validator: {
        validate: (value: unknown) => {
          const weights = weightsOf(value);
          if (!weights) return true;
          return Math.abs(weights.reduce((sum, w) => sum + w, 0) - 1) <= tolerance + Number.EPSILON;
        },
        defaultMessage: (args: ValidationArguments) => {
          const sum = (weightsOf(args.value) ?? []).reduce((total, w) => total + w, 0);
          return `${args.property} weights must sum to 1 (±${tolerance}); they sum to ${Number(sum.toFixed(6))}`;
        },
      },
    });
}
