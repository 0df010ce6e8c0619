/**
 * The Standard Schema interface (https://standardschema.dev), written out structurally so that
 * users' zod, valibot or arktype schemas plug in without this package bundling any of them.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The Standard Schema properties. */
  readonly '~standard': StandardSchemaV1.Props<Input, Output>;
}

/** The types that make up {@link StandardSchemaV1}. */
export declare namespace StandardSchemaV1 {
  /** The properties every Standard Schema carries. */
  export interface Props<Input = unknown, Output = Input> {
    /** The version of the Standard Schema specification. */
    readonly version: 1;
    /** The library that made the schema, e.g. `zod`. */
    readonly vendor: string;
    /** Validates a value: its output, or the issues found. */
    readonly validate: (value: unknown) => Result<Output> | Promise<Result<Output>>;
    /** The schema's input and output types, for type inference only (often unset at runtime). */
    readonly types?:
      | {
          /** The type the schema accepts. */
          readonly input: Input;
          /** The type the schema produces. */
          readonly output: Output;
        }
      | undefined;
  }
  /** A validation result. */
  export type Result<Output> = SuccessResult<Output> | FailureResult;
  /** A value that passed. */
  export interface SuccessResult<Output> {
    /** The validated value: the input, or a new value the schema made of it. */
    readonly value: Output;
    /** Absent when the value passed. */
    readonly issues?: undefined;
  }
  /** A value that failed, with its issues. */
  export interface FailureResult {
    /** What is wrong, one issue per problem. */
    readonly issues: ReadonlyArray<Issue>;
  }
  /** One issue. */
  export interface Issue {
    /** What is wrong, in plain words. */
    readonly message: string;
    /** Where in the value, e.g. `['result', 'url']`; absent for the value as a whole. */
    readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
  }
}
