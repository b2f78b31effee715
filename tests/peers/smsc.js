// A scripted SMSC built on node-smpp (an SMPP implementation nobody here wrote), for the ESME
// tests. Control: JSON lines on stdin; events: JSON lines on stdout.
//   stdin  {"cmd": "config", "password": "...", "refuse_binds": 1, "submit_statuses": [88, 1025]}
//          {"cmd": "deliver", "pdu": {...}, "hex": ["short_message", "its_session_info"]}
//          {"cmd": "enquire_link"} {"cmd": "drop"} {"cmd": "unbind"}
//   stdout {"event": "listening", "port": N} {"event": "bind", ...} {"event": "submit_sm", ...}
//          {"event": "deliver_sm_resp", "seq": N, "status": S} {"event": "enquire_link"} ...
'use strict';
const readline = require('readline');
const smpp = require('smpp');

let config = {password: 'secret', refuse_binds: 0, submit_statuses: []};
let current = null;
let messageId = 0;

function emit(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }

function udhHex(udh) {
  return (udh || []).map((item) => Buffer.from(item).toString('hex'));
}

const server = smpp.createServer((session) => {
  current = session;
  session.on('error', (e) => emit({event: 'error', message: String(e)}));
  session.on('close', () => { emit({event: 'close'}); if (current === session) current = null; });
  session.on('bind_transceiver', (pdu) => {
    let status = 0;
    if (config.refuse_binds > 0) { config.refuse_binds -= 1; status = smpp.ESME_RBINDFAIL; }
    else if (pdu.password !== config.password) { status = smpp.ESME_RINVPASWD; }
    emit({event: 'bind', system_id: pdu.system_id, password: pdu.password, status: status});
    session.send(pdu.response({command_status: status, system_id: 'NODESMSC'}));
  });
  session.on('submit_sm', (pdu) => {
    const status = config.submit_statuses.length ? config.submit_statuses.shift() : 0;
    const sm = pdu.short_message || {};
    messageId += 1;
    emit({
      event: 'submit_sm', seq: pdu.sequence_number, status: status,
      source_addr: pdu.source_addr, destination_addr: pdu.destination_addr,
      data_coding: pdu.data_coding, esm_class: pdu.esm_class,
      registered_delivery: pdu.registered_delivery,
      message: typeof sm.message === 'string' ? sm.message : (sm.message ? Buffer.from(sm.message).toString('hex') : ''),
      udh: udhHex(sm.udh),
      ussd_service_op: pdu.ussd_service_op === undefined ? null : pdu.ussd_service_op,
      its_session_info: pdu.its_session_info ? Buffer.from(pdu.its_session_info).toString('hex') : null,
    });
    session.send(pdu.response({command_status: status, message_id: status ? '' : 'm' + messageId}));
  });
  session.on('deliver_sm_resp', (pdu) => {
    emit({event: 'deliver_sm_resp', seq: pdu.sequence_number, status: pdu.command_status});
  });
  session.on('enquire_link', (pdu) => { emit({event: 'enquire_link'}); session.send(pdu.response()); });
  session.on('enquire_link_resp', () => emit({event: 'enquire_link_resp'}));
  session.on('unbind', (pdu) => { emit({event: 'unbind'}); session.send(pdu.response()); session.close(); });
  session.on('unbind_resp', () => emit({event: 'unbind_resp'}));
  session.on('generic_nack', (pdu) => emit({event: 'generic_nack', status: pdu.command_status}));
});

server.listen(0, '127.0.0.1', () => emit({event: 'listening', port: server.address().port}));

readline.createInterface({input: process.stdin}).on('line', (line) => {
  const command = JSON.parse(line);
  if (command.cmd === 'config') { config = Object.assign(config, command); delete config.cmd; emit({event: 'ok'}); return; }
  if (!current) { emit({event: 'no_session'}); return; }
  if (command.cmd === 'deliver') {
    const params = command.pdu;
    for (const key of command.hex || []) params[key] = Buffer.from(params[key], 'hex');
    current.deliver_sm(params, null, (pdu) => emit({event: 'deliver_sm_sent', seq: pdu.sequence_number}));
  } else if (command.cmd === 'enquire_link') {
    current.enquire_link();
  } else if (command.cmd === 'unbind') {
    current.unbind();
  } else if (command.cmd === 'drop') {
    current.destroy();
    current = null;
    emit({event: 'dropped'});
  }
});
process.stdin.on('end', () => process.exit(0));
