/** A backend address the L4 forwarders connect or send to. */
export interface Endpoint {
  readonly ip: string;
  readonly port: number;
}

/**
 * Returns the endpoint for the next connection attempt (or UDP flow), or
 * undefined when there is none. Called once per attempt, so a round-robin
 * picker naturally moves on to another endpoint after a failure.
 */
export type EndpointPicker = () => Endpoint | undefined;
