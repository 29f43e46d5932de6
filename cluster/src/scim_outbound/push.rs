//! What a delivery does downstream: the named user or group is brought to its current state
//! there. A resource Lumo has pushed before is replaced at the id it got; one it has not is
//! looked for by `userName` / `displayName` (so a first push adopts what is already there) and
//! created only when the switches allow; one gone from Lumo is deleted downstream. A 404 for
//! a remembered id means the downstream lost it: it is forgotten and created again.

use std::collections::HashMap;

use serde_json::Value;

use super::client::ScimClient;
use super::{Target, group_resource, target_of, user_resource};
use crate::command::ScimLink;
use crate::ids::{GroupId, UserId};
use crate::model::{Group, User};
use crate::model::{ScimResourceKind, scim_link_key};
use crate::relations::{Direction, neighbours};
use crate::tables::{OrgReader, Table};
use crate::webhooks::Attempt;

use crate::command::Relation;

type LocalKey = (ScimResourceKind, [u8; 16]);

/// The outbound client working through deliveries of one org.
pub struct Pusher {
    client: ScimClient,
    reader: OrgReader,
    outbound: Value,
    /// Downstream ids learnt (`Some`) or forgotten (`None`) and not recorded yet.
    learnt: HashMap<LocalKey, Option<String>>,
}

/// A delivery that needed no call downstream (it still counts as done).
fn skipped(why: &str) -> Attempt {
    Attempt {
        status_code: None,
        response_body: Some(format!("skipped: {why}")),
        error: None,
    }
}

impl Pusher {
    pub fn new(client: ScimClient, reader: OrgReader, outbound: Value) -> Pusher {
        Pusher {
            client,
            reader,
            outbound,
            learnt: HashMap::new(),
        }
    }

    fn allows(&self, switch: &str) -> bool {
        self.outbound[switch].as_bool().unwrap_or(false)
    }

    /// The links learnt since the last call, to record.
    pub fn take_links(&mut self) -> Vec<ScimLink> {
        self.learnt
            .drain()
            .map(|((kind, local), remote)| ScimLink {
                kind,
                local,
                remote,
            })
            .collect()
    }

    /// How many links wait to be recorded.
    pub fn pending_links(&self) -> usize {
        self.learnt.len()
    }

    fn link(&self, kind: ScimResourceKind, local: &[u8; 16]) -> crate::Result<Option<String>> {
        if let Some(known) = self.learnt.get(&(kind, *local)) {
            return Ok(known.clone());
        }
        self.reader
            .get::<String>(Table::ScimOutboundLink, &scim_link_key(kind, local))
    }

    /// Brings downstream what the delivery `payload` names up to date (not a full sync).
    pub async fn deliver(&mut self, payload: &Value) -> Attempt {
        match target_of(payload) {
            None | Some(Target::Batch) => skipped("the event names no user or group"),
            Some(Target::User(id)) => self.user(id).await,
            Some(Target::Group(id)) => self.group(id).await,
            Some(Target::Groups(ids)) => {
                let mut last = skipped("no group changed");
                for id in ids {
                    last = self.group(id).await;
                    if last.error.is_some() {
                        break;
                    }
                }
                last
            }
        }
    }

    /// Pushes user `id` as it is now (or removes it downstream when it is gone).
    pub async fn user(&mut self, id: UserId) -> Attempt {
        let local = id.to_bytes();
        let found = self.reader.get::<User>(Table::User, &local);
        let link = self.link(ScimResourceKind::User, &local);
        match (found, link) {
            (Err(e), _) | (_, Err(e)) => Attempt::failed(e.to_string()),
            (Ok(None), Ok(None)) => skipped("the user is gone and was never pushed"),
            (Ok(None), Ok(Some(remote))) => {
                self.remove(ScimResourceKind::User, local, &remote).await
            }
            (Ok(Some(user)), Ok(link)) => {
                let resource = user_resource(&user, &self.outbound["attribute_mapping"]);
                let user_name = resource["userName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let key = (ScimResourceKind::User, local);
                self.upsert(key, link, &resource, ("userName", &user_name))
                    .await
            }
        }
    }

    /// Pushes group `id` with its members that are known downstream.
    pub async fn group(&mut self, id: GroupId) -> Attempt {
        let local = id.to_bytes();
        let found = self.reader.get::<Group>(Table::Group, &local);
        let link = self.link(ScimResourceKind::Group, &local);
        match (found, link) {
            (Err(e), _) | (_, Err(e)) => Attempt::failed(e.to_string()),
            (Ok(None), Ok(None)) => skipped("the group is gone and was never pushed"),
            (Ok(None), Ok(Some(remote))) => {
                self.remove(ScimResourceKind::Group, local, &remote).await
            }
            (Ok(Some(group)), Ok(link)) => {
                let members = match self.member_links(&local) {
                    Ok(members) => members,
                    Err(e) => return Attempt::failed(e.to_string()),
                };
                let resource = group_resource(&group, &members);
                let key = (ScimResourceKind::Group, local);
                self.upsert(key, link, &resource, ("displayName", &group.name))
                    .await
            }
        }
    }

    fn member_links(&self, group: &[u8; 16]) -> crate::Result<Vec<String>> {
        let mut out = Vec::new();
        for raw in neighbours(
            &self.reader,
            Relation::UserGroup,
            Direction::Backward,
            group,
        )? {
            if let Ok(user) = <[u8; 16]>::try_from(raw.as_slice())
                && let Some(remote) = self.link(ScimResourceKind::User, &user)?
            {
                out.push(remote);
            }
        }
        Ok(out)
    }

    async fn upsert(
        &mut self,
        key: LocalKey,
        link: Option<String>,
        resource: &Value,
        (attribute, value): (&str, &str),
    ) -> Attempt {
        let (kind, _) = key;
        let endpoint = kind.endpoint();
        if let Some(remote) = link {
            let answer = self.client.replace(kind, &remote, resource).await;
            if answer.status() != Some(404) {
                return answer.into_attempt(&format!("PUT {endpoint}/{remote}"));
            }
            // The downstream lost it: forget the id and push it afresh.
            self.learnt.insert(key, None);
        }
        match self.client.find(kind, attribute, value).await {
            Err(answer) => return answer.into_attempt(&format!("GET {endpoint}?filter")),
            Ok(Some(remote)) => {
                let answer = self.client.replace(kind, &remote, resource).await;
                if answer.is_success() {
                    self.learnt.insert(key, Some(remote.clone()));
                }
                return answer.into_attempt(&format!("PUT {endpoint}/{remote}"));
            }
            Ok(None) => {}
        }
        let switch = match kind {
            ScimResourceKind::User => "push_user_creates",
            ScimResourceKind::Group => "push_group_changes",
        };
        if !self.allows(switch) {
            return skipped(&format!("not downstream, and {switch} is off"));
        }
        let answer = self.client.create(kind, resource).await;
        if answer.is_success() {
            match answer.json()["id"].as_str() {
                Some(remote) => {
                    self.learnt.insert(key, Some(remote.to_string()));
                }
                None => {
                    return Attempt::failed(format!("POST {endpoint} answered no id"));
                }
            }
        }
        answer.into_attempt(&format!("POST {endpoint}"))
    }

    /// Deletes a resource gone from Lumo downstream (when the switches allow).
    pub async fn remove(
        &mut self,
        kind: ScimResourceKind,
        local: [u8; 16],
        remote: &str,
    ) -> Attempt {
        let switch = match kind {
            ScimResourceKind::User => "push_user_deletes",
            ScimResourceKind::Group => "push_group_changes",
        };
        if !self.allows(switch) {
            return skipped(&format!("{switch} is off"));
        }
        let answer = self.client.delete(kind, remote).await;
        let gone = answer.status() == Some(404);
        if answer.is_success() || gone {
            self.learnt.insert((kind, local), None);
        }
        if gone {
            return skipped("already gone downstream");
        }
        answer.into_attempt(&format!("DELETE {}/{remote}", kind.endpoint()))
    }

    /// Everything a full sync goes through: every user, every group, and every pushed
    /// resource no longer in Lumo.
    pub fn batch_work(&self) -> crate::Result<BatchWork> {
        let ids = |table: Table| -> crate::Result<Vec<[u8; 16]>> {
            let mut out = Vec::new();
            self.reader.scan_keys(table, &[], |k| {
                if let Ok(id) = <[u8; 16]>::try_from(k) {
                    out.push(id);
                }
                true
            })?;
            Ok(out)
        };
        let users = ids(Table::User)?;
        let groups = ids(Table::Group)?;
        let mut orphans = Vec::new();
        let mut failure = None;
        self.reader
            .scan::<String>(Table::ScimOutboundLink, &[], false, |k, remote| {
                let Some(kind) = k.first().copied().and_then(ScimResourceKind::from_tag) else {
                    return true;
                };
                let table = match kind {
                    ScimResourceKind::User => Table::User,
                    ScimResourceKind::Group => Table::Group,
                };
                if let Ok(local) = <[u8; 16]>::try_from(&k[1..]) {
                    match self.reader.exists(table, &local) {
                        Ok(false) => orphans.push((kind, local, remote)),
                        Ok(true) => {}
                        Err(e) => {
                            failure = Some(e);
                            return false;
                        }
                    }
                }
                true
            })?;
        if let Some(e) = failure {
            return Err(e);
        }
        Ok(BatchWork {
            users,
            groups,
            orphans,
        })
    }
}

/// The resources of one full sync.
pub struct BatchWork {
    pub users: Vec<[u8; 16]>,
    pub groups: Vec<[u8; 16]>,
    /// Pushed before, gone from Lumo since: (kind, local id, downstream id).
    pub orphans: Vec<(ScimResourceKind, [u8; 16], String)>,
}
