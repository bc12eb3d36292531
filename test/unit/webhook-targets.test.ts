import { describe, expect, it } from 'vitest';
import { checkWebhookUrl, isPrivateAddress } from '../../src/modules/webhooks/webhooks.targets.ts';
import { signWebhook } from '../../src/modules/webhooks/webhooks.delivery.ts';

const field = ['input', 'url'];
const accepted = (url: string, production: boolean) => checkWebhookUrl(url, production, field).error;
const code = (url: string, production: boolean) => checkWebhookUrl(url, production, field).error?.code ?? null;

describe('webhook URLs', () => {
  it('takes https anywhere, and http only to a loopback host outside production', () => {
    expect(accepted('https://hooks.example.com/in?x=1', true)).toBeNull();
    expect(accepted('https://hooks.example.com/in', false)).toBeNull();
    for (const url of ['http://127.0.0.1:8080/in', 'http://localhost/in', 'http://[::1]/in', 'http://127.9.9.9/']) {
      expect(accepted(url, false), url).toBeNull();
      expect(code(url, true), url).toBe('INVALID');
    }
    for (const url of ['http://example.com/in', 'http://10.0.0.1/', 'ftp://127.0.0.1/', 'javascript:alert(1)', 'x']) {
      expect(code(url, false), url).toBe('INVALID');
    }
    expect(code('https://u:p@example.com/', false)).toBe('INVALID');
    expect(code('https://example.com/#frag', false)).toBe('INVALID');
    expect(code(`https://example.com/${'a'.repeat(2000)}`, false)).toBe('TOO_LONG');
  });

  it('refuses loopback, private and link-local address literals in production', () => {
    for (const url of [
      'https://127.0.0.1/',
      'https://localhost/',
      'https://10.1.2.3/',
      'https://172.16.0.1/',
      'https://192.168.1.1/',
      'https://169.254.169.254/latest/meta-data',
      'https://100.64.0.1/',
      'https://0.0.0.0/',
      'https://[::1]/',
      'https://[fd00::1]/',
      'https://[fe80::1]/',
      'https://[::ffff:127.0.0.1]/',
      'https://[::ffff:a9fe:a9fe]/',
    ]) {
      expect(code(url, true), url).toBe('INVALID');
      expect(accepted(url, false), url).toBeNull();
    }
    expect(accepted('https://93.184.215.14/', true)).toBeNull();
    expect(accepted('https://[2606:4700::1111]/', true)).toBeNull();
  });

  it('classifies addresses', () => {
    expect(isPrivateAddress('127.0.0.1')).toBe(true);
    expect(isPrivateAddress('::ffff:10.0.0.1')).toBe(true);
    expect(isPrivateAddress('8.8.8.8')).toBe(false);
    expect(isPrivateAddress('2001:4860:4860::8888')).toBe(false);
    expect(isPrivateAddress('not an address')).toBe(true);
  });
});

describe('webhook signatures', () => {
  it('match the Standard Webhooks example', () => {
    // The example of the Standard Webhooks specification's reference implementations.
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const body = '{"test": 2432232314}';
    expect(signWebhook(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, body)).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });
});
