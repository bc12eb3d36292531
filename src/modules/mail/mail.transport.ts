import { createTransport } from 'nodemailer';
import type { EmailTransport } from '../outbox/outbox.worker.ts';

/** Delivers through the SMTP server at `url` (`ROSTER_SMTP_URL`): STARTTLS when offered, TLS with `smtps://`. */
export function smtpTransport(url: string, defaultFrom: string): EmailTransport {
  const transport = createTransport({
    url,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    async send(message) {
      await transport.sendMail({
        from: message.from ?? defaultFrom,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
      });
    },
    close: () => transport.close(),
  };
}

/** The sender of a realm without `mailFrom`: `no-reply@` the host of the public URL. */
export function defaultSender(baseUrl: string): string {
  const host = new URL(baseUrl).hostname;
  // An address literal is no mail domain.
  return /^[\d.]+$|^\[/.test(host) ? 'no-reply@localhost' : `no-reply@${host}`;
}
