//! The demo stories: incidents planted at fixed places in the trail, each with a cairn query
//! that finds exactly its events.
//!
//! The random mix is built so that no random record matches a story's query: random root
//! sign-ins always use MFA, random `StopLogging` never happens, the burst's access key belongs
//! to a user nothing else uses, random IAM users only create keys for themselves, and the
//! security group and stack names are fresh.

use crate::Story;
use crate::events::{RECON_LEN, StoryEv};
use crate::rng::{HEX, LOWER_ALNUM, Rng};
use crate::unit::Planted;
use crate::world::{Account, REGIONS, public_ipv4};

const SALT_STORIES: u64 = 0x5701_2135;

/// Records the stories add to the trail (all counted in `GenConfig::events`).
pub(crate) const STORY_EVENTS: u64 = 1 + 2 + 1 + 1 + BURST + 1 + 1;

/// AccessDenied records in the burst.
const BURST: u64 = 40;

/// A planted event and where it goes.
#[derive(Debug, Clone)]
pub(crate) struct Placed {
    pub(crate) account: u32,
    pub(crate) region: u32,
    pub(crate) planted: Planted,
}

/// Quotes a query value unless it is a plain word.
fn q(v: &str) -> String {
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        v.to_string()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Plans the stories for a trail of `account_ids` over `[start, end)` (Unix seconds, at least
/// a day) in `regions` regions. Returns the stories (without event ids) and their events.
pub(crate) fn plan(
    seed: u64,
    account_ids: &[String],
    regions: u32,
    start: i64,
    end: i64,
) -> (Vec<Story>, Vec<Placed>) {
    let mut rng = Rng::from_path(&[seed, SALT_STORIES]);
    let n = account_ids.len() as u32;
    let (a0, a1, alast) = (0, 1.min(n - 1), n - 1);
    let r1 = 1.min(regions - 1);
    let span = end - start;
    let at = |permille: i64, rng: &mut Rng| -> i64 {
        let s = start + span * permille / 1000 + rng.below(600) as i64;
        s * 1000 + rng.below(1000) as i64
    };
    let acct = |i: u32| Account::build(seed, i, &account_ids[i as usize]);
    let mut stories = Vec::new();
    let mut placed = Vec::new();
    let mut put = |account: u32, region: u32, t_ms: i64, story: usize, listed: bool, ev| {
        placed.push(Placed {
            account,
            region,
            planted: Planted {
                t_ms,
                story,
                listed,
                ev,
            },
        });
    };

    // 1. Root signs in to the console without MFA.
    {
        let ip = public_ipv4(&mut rng);
        let t = at(600, &mut rng);
        put(
            a0,
            0,
            t,
            0,
            true,
            StoryEv::RootLoginNoMfa { ip: ip.clone() },
        );
        stories.push(Story {
            name: "root-console-login-without-mfa".into(),
            description: format!(
                "The root user of account {} signed in to the console without MFA from {ip}.",
                account_ids[a0 as usize]
            ),
            query: "eventName:ConsoleLogin AND userIdentity.type:Root AND \
                    additionalEventData.MFAUsed:No"
                .into(),
            event_ids: Vec::new(),
        });
    }

    // 2. A security group opened to the world on SSH, closed ten minutes later.
    {
        let a = acct(a1);
        let actor = a.pools.sso[0];
        let group = rng.id("sg-0", HEX, 16);
        let rule = rng.id("sgr-0", HEX, 16);
        let t = at(700, &mut rng);
        put(
            a1,
            r1,
            t,
            1,
            true,
            StoryEv::SgOpen {
                actor,
                group: group.clone(),
                rule,
            },
        );
        put(
            a1,
            r1,
            t + 600_000,
            1,
            true,
            StoryEv::SgRevoke {
                actor,
                group: group.clone(),
            },
        );
        stories.push(Story {
            name: "security-group-opened-to-world".into(),
            description: format!(
                "{} opened port 22 of {group} to 0.0.0.0/0 in account {} ({}) and revoked the \
                 rule ten minutes later.",
                a.actors[actor as usize].username, a.id, REGIONS[r1 as usize]
            ),
            query: format!(
                "requestParameters.groupId:{} AND (eventName:AuthorizeSecurityGroupIngress OR \
                 eventName:RevokeSecurityGroupIngress)",
                q(&group)
            ),
            event_ids: Vec::new(),
        });
    }

    // 3. CloudTrail logging stopped.
    {
        let a = acct(a0);
        let actor = *a.pools.sso.last().unwrap_or(&a.pools.sso[0]);
        let t = at(850, &mut rng);
        put(a0, 0, t, 2, true, StoryEv::StopLogging { actor });
        stories.push(Story {
            name: "cloudtrail-logging-stopped".into(),
            description: format!(
                "{} stopped logging on trail {} in account {}.",
                a.actors[actor as usize].username, a.trail_name, a.id
            ),
            query: "eventName:StopLogging".into(),
            event_ids: Vec::new(),
        });
    }

    // 4. A leaked access key probing what it may do: 40 denials in under two minutes.
    {
        let a = acct(alast);
        let leaked = &a.actors[a.pools.leaked as usize];
        let ip = public_ipv4(&mut rng);
        let t0 = at(500, &mut rng);
        put(
            alast,
            0,
            t0 - 20_000,
            3,
            false,
            StoryEv::ReconIdentity { ip: ip.clone() },
        );
        for i in 0..BURST {
            let t = t0 + (i as i64) * 2_800 + rng.below(900) as i64;
            put(
                alast,
                0,
                t,
                3,
                true,
                StoryEv::Denied {
                    ip: ip.clone(),
                    call: i as usize % RECON_LEN,
                },
            );
        }
        stories.push(Story {
            name: "access-denied-burst".into(),
            description: format!(
                "The access key {} of IAM user {} in account {} was used from {ip}: one \
                 successful GetCallerIdentity, then {BURST} AccessDenied errors in under two \
                 minutes while enumerating IAM, S3, Lambda, DynamoDB, KMS and Secrets Manager.",
                leaked.access_key, leaked.name, a.id
            ),
            query: format!(
                "userIdentity.accessKeyId:{} AND errorCode:AccessDenied",
                q(&leaked.access_key)
            ),
            event_ids: Vec::new(),
        });
    }

    // 5. An IAM user creates an access key for another user.
    {
        let a = acct(a0);
        let caller = a.pools.iam_human[0];
        let target = a.pools.iam_ci[0];
        let t = at(620, &mut rng);
        put(a0, 0, t, 4, true, StoryEv::KeyForOther { caller, target });
        let (cn, tn) = (
            &a.actors[caller as usize].name,
            &a.actors[target as usize].name,
        );
        stories.push(Story {
            name: "access-key-created-for-another-user".into(),
            description: format!(
                "IAM user {cn} created an access key for IAM user {tn} in account {}.",
                a.id
            ),
            query: format!(
                "eventName:CreateAccessKey AND userIdentity.userName:{} AND \
                 requestParameters.userName:{}",
                q(cn),
                q(tn)
            ),
            event_ids: Vec::new(),
        });
    }

    // 6. A CloudFormation stack with a huge template: one very large record to search.
    {
        let a = acct(a1);
        let actor = a.pools.deploy[0];
        let stack = format!("data-platform-{}", rng.chars(LOWER_ALNUM, 6));
        let t = at(400, &mut rng);
        put(
            a1,
            0,
            t,
            5,
            true,
            StoryEv::BigStack {
                actor,
                stack: stack.clone(),
            },
        );
        stories.push(Story {
            name: "huge-cloudformation-template".into(),
            description: format!(
                "{} created stack {stack} in account {} with a 40-60 KB templateBody: a record \
                 far above Lucene's 32 KB term limit that must stay searchable.",
                a.actors[actor as usize].username, a.id
            ),
            query: format!(
                "eventName:CreateStack AND requestParameters.stackName:{}",
                q(&stack)
            ),
            event_ids: Vec::new(),
        });
    }

    debug_assert_eq!(placed.len() as u64, STORY_EVENTS);
    (stories, placed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(q("AKIA123"), "AKIA123");
        assert_eq!(q("sg-0abc"), "\"sg-0abc\"");
        assert_eq!(q("alice.chen"), "\"alice.chen\"");
    }

    #[test]
    fn plans_all_events_inside_the_window() {
        let ids = crate::world::account_ids(3, 1);
        let start = 1_748_736_000;
        let (stories, placed) = plan(3, &ids, 1, start, start + 86_400);
        assert_eq!(stories.len(), 6);
        assert_eq!(placed.len() as u64, STORY_EVENTS);
        for p in &placed {
            assert!(p.planted.t_ms >= start * 1000 && p.planted.t_ms < (start + 86_400) * 1000);
            assert_eq!((p.account, p.region), (0, 0));
        }
    }
}
