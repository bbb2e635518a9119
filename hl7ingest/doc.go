// Package hl7ingest is the HL7 v2 feed of the gateway: it takes the
// messages the MLLP listener (package mllp) receives, maps them with package
// mappings/hl7v2, and stores the result, acknowledging only after the
// durable write.
//
// Per message (Processor.Process):
//
//  1. Parse. A message that does not parse gets AE/AR and goes to the
//     dead-letter store; so does one without a control id (MSH-10, AE 101).
//  2. Deduplicate. One delivery of a message at a time holds a lease on
//     its key; the lease, the deduplication record, whether a dead
//     letter of the same bytes exists and the current versions of the
//     resources the message maps to (mapped and validated first, for this;
//     the commit plans with them) come in one round trip
//     (redisstore.ClaimDelivery), and the accepting commit releases the
//     lease itself (ww.Commit.Release). The key is (MSH-10, MSH-3,
//     MSH-4) with the SHA-256 of the message bytes: the same key and hash
//     were accepted before → the stored ACK again, nothing written
//     (wachtwijzer_hl7_duplicates_total);
//     the same key with another hash → processed, with a warning log and
//     wachtwijzer_hl7_control_id_reused_total. Records expire after the
//     deduplication TTL (default 7 days, serve --hl7-dedup-ttl).
//  3. Map with the sender's configuration (Senders: a JSON file swapped
//     atomically on Reload — SIGHUP — or when Watch sees it change; a file
//     that does not load keeps the configuration in force and logs why).
//     An unmapped local code is a warning: AA with ERR severity W, the
//     local coding kept, meta.tag unmapped, and
//     wachtwijzer_hl7_unmapped_codes_total{sender,field}.
//  4. Validate every resource with conformance.Validate (a failure: AE 102).
//  5. Commit: one atomic store commit per message with every resource
//     (IfAbsent resources are kept when they exist; the message's source
//     time — EVN-2, else MSH-7, as the interval its precision spans — makes
//     the store skip writes over versions from newer messages, inside the
//     write script), Provenance{Owner: the sender's AGB, Channel: hl7,
//     Source: urn:hl7v2:{MSH-3}|{MSH-4}#{MSH-10}}, and the deduplication
//     record as the commit's receipt: a crash leaves both or neither. An
//     ADT^A40 also moves the ServiceRequests, Appointments and Coverages of
//     the retired Patient to the survivor in that commit.
//  6. Acknowledge: original mode AA/AE/AR; enhanced mode (MSH-15/16
//     valued) a commit ACK CA/CE/CR after the durable write, honouring
//     MSH-15 (AL or empty: always, NE: never, ER: on errors, SU: on
//     success), and no deferred application ACK whatever MSH-16 says. A
//     store failure or timeout is AR (CR) with ERR 207, never AE: the
//     message is fine and the sender should resend it (deduplication makes
//     the resend safe when the first commit did land after all).
//
// Rejected messages (AE/AR/CE/CR) are kept in the dead-letter store with
// the reason as OperationOutcome-shaped issues and the message bytes; the
// same message rejected again replaces its dead letter (attempts count up),
// and one that is accepted later removes it. Replay processes a dead letter
// again (after a configuration fix): accepted, duplicate, rejected, or
// superseded — accepted, but newer messages hold some of its resources;
// Replay with force writes them anyway. Trace answers "what happened to
// control id X" from the deduplication records (received, ACK, resources
// with the versions whose provenance is the message) and the rejection
// records (the reason and the dead letter), for the deduplication TTL.
// Translate shows the FHIR result of a message without storing anything.
//
// Handler adapts a Processor to mllp.Handler, answering oversize frames
// with AR; Routes mounts the admin endpoints; the CLI is wachtwijzer hl7.
package hl7ingest
