// Child process for packet-socket.test.ts, run inside a network namespace:
//   node ns-speaker-child.ts <interface>
// Opens the ARP and NDP packet sockets on <interface>, reports what it
// receives as JSON lines on stdout and runs the JSON-line commands it reads
// on stdin. Answers ARP requests / Neighbor Solicitations for the IPs it was
// told to own, as the speaker will. Exits on stdin EOF, or after 90 s.

import { createInterface } from 'node:readline';

import {
  decodeArp,
  encodeArpAnswer,
  encodeGratuitousArpReply,
  encodeGratuitousArpRequest,
  ARP_OP_REQUEST,
} from '../../../src/l2/arp.ts';
import { decodeNdp, encodeSolicitedNa, encodeUnsolicitedNa } from '../../../src/l2/ndp.ts';
import { ETHERTYPE_IPV6 } from '../../../src/l2/ethernet.ts';
import { openArpSocket, openNdpSocket, PacketSocket } from '../../../src/l2/packet-socket.ts';

type Command =
  | { cmd: 'garp-request'; ip: string }
  | { cmd: 'garp-reply'; ip: string; targetMac?: 'sender' | 'broadcast' }
  | { cmd: 'unsolicited-na'; ip: string }
  | { cmd: 'own'; ip: string }
  | { cmd: 'add-multicast'; mac: string }
  | { cmd: 'counts' };

const report = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(event)}\n`);
};

const interfaceName = process.argv[2];
if (interfaceName === undefined) throw new Error('usage: ns-speaker-child.ts <interface>');
setTimeout(() => process.exit(3), 90_000).unref();

const arp = openArpSocket(interfaceName);
const ndp = openNdpSocket(interfaceName);
// A control: all IPv6 frames, to show what the NDP filter keeps out.
const allIpv6 = new PacketSocket({ interface: interfaceName, ethertype: ETHERTYPE_IPV6 });
const counts = { ndp: 0, allIpv6: 0, allIpv6NotNdp: 0 };
const owned = new Set<string>();
const mac = arp.mac;

allIpv6.on('error', (error) => report({ event: 'error', socket: 'all-ipv6', message: error.message }));
allIpv6.on('frame', (frame) => {
  counts.allIpv6++;
  if (decodeNdp(frame) === null) counts.allIpv6NotNdp++;
});

arp.on('error', (error) => report({ event: 'error', socket: 'arp', message: error.message }));
ndp.on('error', (error) => report({ event: 'error', socket: 'ndp', message: error.message }));

arp.on('frame', (frame, packetType) => {
  const packet = decodeArp(frame);
  report({ event: 'arp', packetType, packet });
  if (packet !== null && packet.op === ARP_OP_REQUEST && owned.has(packet.targetIp) && packet.senderMac !== mac) {
    arp.send(encodeArpAnswer(packet, mac));
    report({ event: 'answered', ip: packet.targetIp });
  }
});

ndp.on('frame', (frame, packetType) => {
  const message = decodeNdp(frame);
  counts.ndp++;
  report({ event: 'ndp', packetType, message });
  if (message?.type === 'ns' && owned.has(message.target)) {
    ndp.send(encodeSolicitedNa(message, { mac }));
    report({ event: 'answered', ip: message.target });
  }
});

function run(command: Command): unknown {
  switch (command.cmd) {
    case 'garp-request':
      return arp.send(encodeGratuitousArpRequest({ mac, ip: command.ip }));
    case 'garp-reply':
      return arp.send(encodeGratuitousArpReply({ mac, ip: command.ip, targetMac: command.targetMac ?? 'sender' }));
    case 'unsolicited-na':
      return ndp.send(encodeUnsolicitedNa({ mac, ip: command.ip }));
    case 'own':
      owned.add(command.ip);
      return undefined;
    case 'add-multicast':
      ndp.addMulticast(command.mac);
      return undefined;
    case 'counts':
      return { ...counts };
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const command = JSON.parse(line) as Command;
  try {
    report({ event: 'done', cmd: command.cmd, result: run(command) });
  } catch (error) {
    report({ event: 'failed', cmd: command.cmd, message: (error as Error).message });
  }
});
lines.on('close', () => {
  arp.close();
  ndp.close();
  allIpv6.close();
});

report({ event: 'ready', mac, ifindex: arp.ifindex, hwType: arp.hwType });
