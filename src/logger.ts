import { pino } from 'pino';

export type Logger = pino.Logger;

/**
 * JSON logs. Secrets and personal data are never passed to the logger in the first place;
 * redaction is the second line, for fields that might slip through.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'hibiki' },
      redact: {
        paths: [
          'authorization',
          'req.headers.authorization',
          'req.headers.cookie',
          'token',
          'secret',
          'password',
          'email',
          'address',
          '*.authorization',
          '*.token',
          '*.secret',
          '*.password',
          '*.email',
          '*.address',
        ],
        censor: '[redacted]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
