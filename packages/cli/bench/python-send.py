"""A stand-in for the original Python CLI's `agent-comm send`, for the start-up benchmark (startup.bench.mjs).

The original (a Python library and click CLI, described in the implementation guide the project started
from) is not part of this repository. This script does what its `send` did, as that guide describes it,
with the same libraries: a click command group, pydantic models for agent profiles, a MessageV2 dataclass,
and a SQLite spool (WAL, synchronous=NORMAL) written in one transaction — the recipient looked up in the
registry, the message and its delivery inserted, the message id printed. It imports only what a send
needs, so it starts no slower than the original did: a ratio to it is a conservative stand-in for the
ratio to the original.

    python3 python-send.py register AGENT --db FILE
    python3 python-send.py send FROM TO BODY --db FILE
"""

import json
import sqlite3
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum

import click
from pydantic import BaseModel

SCHEMA = """
CREATE TABLE IF NOT EXISTS agents (
  agent_id TEXT PRIMARY KEY, capabilities TEXT NOT NULL, device TEXT NOT NULL, transport TEXT NOT NULL,
  status TEXT NOT NULL, last_seen TEXT NOT NULL, metadata TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, from_agent TEXT NOT NULL, to_agent TEXT NOT NULL,
  subject TEXT NOT NULL, body TEXT NOT NULL, priority TEXT NOT NULL, conversation_id TEXT NOT NULL,
  reply_to TEXT, ttl_hours REAL NOT NULL, payload TEXT, created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
  id INTEGER PRIMARY KEY, message_seq INTEGER NOT NULL REFERENCES messages(seq), recipient TEXT NOT NULL,
  status TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL,
  available_at TEXT NOT NULL, lease_until TEXT, UNIQUE (message_seq, recipient));
CREATE INDEX IF NOT EXISTS deliveries_claim ON deliveries (recipient, status, available_at);
"""


class AgentProfile(BaseModel):
    agent_id: str
    capabilities: list[str]
    device: str
    transport: str
    status: str
    last_seen: datetime
    metadata: dict


class Priority(str, Enum):
    CRITICAL = "critical"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


@dataclass
class RoutingInfo:
    reply_to: str | None = None
    conversation_id: str = field(default_factory=lambda: f"conv_{uuid.uuid4().hex}")
    ttl_hours: float = 24.0


@dataclass
class MessageV2:
    from_agent: str
    to_agent: str
    body: str
    subject: str = ""
    id: str = field(default_factory=lambda: f"msg_{uuid.uuid4().hex}")
    version: str = "2.0"
    timestamp: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    priority: Priority = Priority.NORMAL
    routing: RoutingInfo = field(default_factory=RoutingInfo)
    payload: dict | None = None


def connect(db: str) -> sqlite3.Connection:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.executescript(SCHEMA)
    return conn


def profile(conn: sqlite3.Connection, agent_id: str) -> AgentProfile | None:
    row = conn.execute("SELECT * FROM agents WHERE agent_id = ?", (agent_id,)).fetchone()
    if row is None:
        return None
    return AgentProfile(
        agent_id=row[0],
        capabilities=json.loads(row[1]),
        device=row[2],
        transport=row[3],
        status=row[4],
        last_seen=datetime.fromisoformat(row[5]),
        metadata=json.loads(row[6]),
    )


@click.group()
def cli() -> None:
    """agent-comm (stand-in of the original Python CLI's send)."""


@cli.command()
@click.argument("agent_id")
@click.option("--db", required=True)
def register(agent_id: str, db: str) -> None:
    conn = connect(db)
    now = datetime.now(timezone.utc)
    agent = AgentProfile(
        agent_id=agent_id, capabilities=[], device="bench", transport="sqlite", status="active",
        last_seen=now, metadata={},
    )
    conn.execute(
        "INSERT OR REPLACE INTO agents VALUES (?, ?, ?, ?, ?, ?, ?)",
        (agent.agent_id, json.dumps(agent.capabilities), agent.device, agent.transport, agent.status,
         agent.last_seen.isoformat(), json.dumps(agent.metadata)),
    )
    click.echo(f"Registered {agent_id}")


@cli.command()
@click.argument("from_agent")
@click.argument("to_agent")
@click.argument("body")
@click.option("-s", "--subject", default="")
@click.option("--db", required=True)
def send(from_agent: str, to_agent: str, body: str, subject: str, db: str) -> None:
    conn = connect(db)
    if profile(conn, to_agent) is None:
        raise click.ClickException(f"Agent not found: {to_agent}")
    message = MessageV2(from_agent=from_agent, to_agent=to_agent, body=body, subject=subject)
    expires = message.timestamp + timedelta(hours=message.routing.ttl_hours)
    conn.execute("BEGIN IMMEDIATE")
    cur = conn.execute(
        "INSERT INTO messages (id, from_agent, to_agent, subject, body, priority, conversation_id, reply_to,"
        " ttl_hours, payload, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (message.id, message.from_agent, message.to_agent, message.subject, message.body,
         message.priority.value, message.routing.conversation_id, message.routing.reply_to,
         message.routing.ttl_hours, json.dumps(message.payload), message.timestamp.isoformat(),
         expires.isoformat()),
    )
    conn.execute(
        "INSERT INTO deliveries (message_seq, recipient, status, max_attempts, available_at)"
        " VALUES (?, ?, 'queued', 3, ?)",
        (cur.lastrowid, to_agent, message.timestamp.isoformat()),
    )
    conn.execute("COMMIT")
    click.echo(json.dumps({"id": message.id, "to": asdict(message)["to_agent"]}))


if __name__ == "__main__":
    cli()
