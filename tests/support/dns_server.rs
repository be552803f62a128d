//! A DNS server for tests: TXT records from a table the test changes as it goes, over UDP on
//! a free port (hickory's own message types, the ones the resolver under test reads).

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::sync::{Arc, Mutex};

use mail_auth::hickory_resolver::proto::op::{Message, ResponseCode};
use mail_auth::hickory_resolver::proto::rr::rdata::TXT;
use mail_auth::hickory_resolver::proto::rr::{RData, Record, RecordType};

/// name (lower case, no final dot) → its TXT records, each as its strings.
pub type Zone = Arc<Mutex<BTreeMap<String, Vec<Vec<String>>>>>;

pub struct DnsServer {
    pub port: u16,
    pub zone: Zone,
}

impl DnsServer {
    pub fn start() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP port");
        let port = socket.local_addr().expect("local address").port();
        let zone: Zone = Arc::default();
        let records = zone.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok((n, peer)) = socket.recv_from(&mut buf) {
                let Ok(query) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let mut answer = Message::response(query.id(), query.op_code());
                answer.set_recursion_desired(query.recursion_desired());
                answer.set_recursion_available(true);
                let mut known = false;
                for q in query.queries() {
                    answer.add_query(q.clone());
                    let name = q
                        .name()
                        .to_ascii()
                        .trim_end_matches('.')
                        .to_ascii_lowercase();
                    let table = records.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(txts) = table.get(&name) {
                        known = true;
                        if q.query_type() == RecordType::TXT {
                            for strings in txts {
                                answer.add_answer(Record::from_rdata(
                                    q.name().clone(),
                                    60,
                                    RData::TXT(TXT::new(strings.clone())),
                                ));
                            }
                        }
                    }
                }
                if !known {
                    answer.set_response_code(ResponseCode::NXDomain);
                }
                if let Ok(bytes) = answer.to_vec() {
                    let _ = socket.send_to(&bytes, peer);
                }
            }
        });
        Self { port, zone }
    }

    /// Publishes `records` at `name`, replacing what was there (empty: the name is gone).
    pub fn publish(&self, name: &str, records: &[&[&str]]) {
        let mut zone = self.zone.lock().unwrap_or_else(|p| p.into_inner());
        if records.is_empty() {
            zone.remove(name);
        } else {
            zone.insert(
                name.to_owned(),
                records
                    .iter()
                    .map(|r| r.iter().map(|s| (*s).to_owned()).collect())
                    .collect(),
            );
        }
    }
}
