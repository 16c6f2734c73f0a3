/**
 * HTTPS webhooks (5.3.1): notifications reach an endpoint whose certificate
 * a trusted authority signed (CIVITAS_NOTIFY_CA_FILE's, or NODE_EXTRA_CA_CERTS'
 * beside it), and never one whose certificate nobody trusted.
 */
import { describeEachStore, uniqueId } from '../support/broker';
import { selfSignedCertificate } from '../support/certificates';
import { eventually, Receiver, settle } from '../support/receiver';

const trusted = selfSignedCertificate();
const untrusted = selfSignedCertificate();
const extra = selfSignedCertificate();

describeEachStore(
  'HTTPS notification endpoints',
  (h) => {
    let secure: Receiver;
    let impostor: Receiver;
    let extraSigned: Receiver;
    beforeAll(async () => {
      secure = await Receiver.start(trusted);
      impostor = await Receiver.start(untrusted);
      extraSigned = await Receiver.start(extra);
    });
    afterAll(async () => {
      await secure.close();
      await impostor.close();
      await extraSigned.close();
    });

    async function subscribeTo(receiver: Receiver, id: string): Promise<string> {
      const subscription = uniqueId('Subscription');
      const res = await h().client.post('/subscriptions', { id: subscription, type: 'Subscription', entities: [{ id, type: 'Room' }], notification: { endpoint: { uri: receiver.url() } } });
      expect(res.status).toBe(201);
      return subscription;
    }

    test('an endpoint whose certificate a trusted authority signed receives the notification', async () => {
      expect(secure.url()).toMatch(/^https:/);
      const id = uniqueId('Room');
      const subscription = await subscribeTo(secure, id);
      await h().client.post('/entities', { id, type: 'Room', temperature: { type: 'Property', value: 21 } });
      const [got] = await secure.waitFor(undefined, 1);
      expect(got.body).toMatchObject({ type: 'Notification', data: [{ id, temperature: { value: 21 } }] });
      expect(got.headers['content-type']).toBe('application/json');
      await eventually(async () => expect((await h().client.get(`/subscriptions/${subscription}`)).body.notification).toMatchObject({ status: 'ok', timesSent: 1 }));
    });

    test('an authority of NODE_EXTRA_CA_CERTS stays trusted beside those of CIVITAS_NOTIFY_CA_FILE', async () => {
      const id = uniqueId('Room');
      const subscription = await subscribeTo(extraSigned, id);
      await h().client.post('/entities', { id, type: 'Room', temperature: { type: 'Property', value: 23 } });
      const [got] = await extraSigned.waitFor(undefined, 1);
      expect(got.body).toMatchObject({ type: 'Notification', data: [{ id, temperature: { value: 23 } }] });
      await eventually(async () => expect((await h().client.get(`/subscriptions/${subscription}`)).body.notification).toMatchObject({ status: 'ok', timesSent: 1 }));
    });

    test('an endpoint with a certificate nobody trusted gets nothing, and the subscription reports the failure', async () => {
      const id = uniqueId('Room');
      const subscription = await subscribeTo(impostor, id);
      await h().client.post('/entities', { id, type: 'Room', temperature: { type: 'Property', value: 22 } });
      await eventually(async () =>
        expect((await h().client.get(`/subscriptions/${subscription}`)).body.notification).toMatchObject({ status: 'failed', lastFailure: expect.stringMatching(/Z$/) }),
      );
      await settle(200);
      expect(impostor.on()).toHaveLength(0);
    });
  },
  { CIVITAS_NOTIFY_CA_FILE: trusted.certFile, NODE_EXTRA_CA_CERTS: extra.certFile, CIVITAS_NOTIFY_RETRY_MS: '100', CIVITAS_NOTIFY_POLL_MS: '100' },
);
