// Child process for lab-announce-gate.test.ts and lab-cut-off-claim.test.ts,
// run in a lab node's network namespace: a real dataplane Speaker whose
// announcement gate stays closed for a while (as the proxy's does while nft
// writes a kernel port's rules), logging JSON lines on stdout, the gate's
// opening among them.
// Arguments: <kubeconfig> <node name> <gate ms>.
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { loadKubeClient } from '../../../src/kube/client.ts';
import { defaultSpeakerOptions, Speaker } from '../../../src/speaker/speaker.ts';

const [kubeconfig, nodeName, gateMs] = process.argv.slice(2);
const log = pino({ level: 'info' });
const speaker = new Speaker(loadKubeClient(kubeconfig), log, { ...defaultSpeakerOptions, nodeName: nodeName! });
speaker.gateAnnouncements(async (ip) => {
  log.info({ ip }, 'gate closed');
  await sleep(Number(gateMs));
  log.info({ ip }, 'gate opened');
});
await speaker.start();
process.once('SIGTERM', () => {
  void speaker.stop().finally(() => process.exit(0));
});
