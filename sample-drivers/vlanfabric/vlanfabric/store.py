"""The simulated switch fabric, kept in the driver's state directory as one
SQLite database (vlanfabric.db), beside the SDK's operation log, so that an
operation's effect and its remembered answer are one transaction.

Tables: networks (one row per implemented network, its VLAN unique across
the fabric) and nics (one access port per prepared NIC). The VLAN pool is
shared by all networks: SQLite's write lock, taken by every transaction,
keeps two driver processes (during an upgrade) from giving one VLAN twice.
"""

import hashlib
import os

from pitstop_driver import OperationLog, StateDB

DB_FILE = "vlanfabric.db"

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS networks ("
    " id TEXT PRIMARY KEY,"
    " vlan INTEGER NOT NULL UNIQUE,"
    " cidr TEXT NOT NULL,"
    " gateway TEXT NOT NULL,"
    " guest_type TEXT NOT NULL,"
    " zone TEXT NOT NULL,"
    " mtu INTEGER NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('up', 'down')))",
    "CREATE TABLE IF NOT EXISTS nics ("
    " network_id TEXT NOT NULL REFERENCES networks(id),"
    " nic_id TEXT NOT NULL,"
    " mac TEXT NOT NULL,"
    " ip TEXT NOT NULL,"
    " vm_id TEXT NOT NULL,"
    " port_id TEXT NOT NULL,"
    " PRIMARY KEY (network_id, nic_id),"
    " UNIQUE (network_id, mac))",
)


class Network:
    __slots__ = ("id", "vlan", "cidr", "gateway", "guest_type", "zone", "mtu", "state")

    def __init__(self, *row):
        for name, value in zip(self.__slots__, row):
            setattr(self, name, value)


class Nic:
    __slots__ = ("network_id", "nic_id", "mac", "ip", "vm_id", "port_id")

    def __init__(self, *row):
        for name, value in zip(self.__slots__, row):
            setattr(self, name, value)


def open_store(state_dir):
    """(StateDB, OperationLog) for the fabric in `state_dir`."""
    db = StateDB(os.path.join(state_dir, DB_FILE), SCHEMA)
    return db, OperationLog(db)


def port_id(network_id, nic_id):
    """A stable access-port id for a NIC on a network."""
    digest = hashlib.sha256(("%s/%s" % (network_id, nic_id)).encode()).hexdigest()
    return "port-" + digest[:12]


def get_network(conn, network_id):
    row = conn.execute("SELECT id, vlan, cidr, gateway, guest_type, zone, mtu, state "
                       "FROM networks WHERE id = ?", (network_id,)).fetchone()
    return Network(*row) if row else None


def network_on_vlan(conn, vlan):
    row = conn.execute("SELECT id FROM networks WHERE vlan = ?", (vlan,)).fetchone()
    return row[0] if row else None


def lowest_free_vlan(conn, first, last):
    """The lowest VLAN in [first, last] no network has, or None."""
    used = {v for (v,) in conn.execute(
        "SELECT vlan FROM networks WHERE vlan BETWEEN ? AND ?", (first, last))}
    for vlan in range(first, last + 1):
        if vlan not in used:
            return vlan
    return None


def insert_network(conn, network):
    conn.execute("INSERT INTO networks (id, vlan, cidr, gateway, guest_type, zone, mtu,"
                 " state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 tuple(getattr(network, name) for name in Network.__slots__))


def set_network_state(conn, network_id, state):
    conn.execute("UPDATE networks SET state = ? WHERE id = ?", (state, network_id))


def delete_network(conn, network_id):
    conn.execute("DELETE FROM networks WHERE id = ?", (network_id,))


def get_nic(conn, network_id, nic_id):
    row = conn.execute("SELECT network_id, nic_id, mac, ip, vm_id, port_id FROM nics "
                       "WHERE network_id = ? AND nic_id = ?", (network_id, nic_id)).fetchone()
    return Nic(*row) if row else None


def nic_with_mac(conn, network_id, mac):
    row = conn.execute("SELECT nic_id FROM nics WHERE network_id = ? AND mac = ?",
                       (network_id, mac)).fetchone()
    return row[0] if row else None


def nic_with_ip(conn, network_id, ip):
    row = conn.execute("SELECT nic_id FROM nics WHERE network_id = ? AND ip = ? AND ip != ''",
                       (network_id, ip)).fetchone()
    return row[0] if row else None


def insert_nic(conn, nic):
    conn.execute("INSERT INTO nics (network_id, nic_id, mac, ip, vm_id, port_id) "
                 "VALUES (?, ?, ?, ?, ?, ?)",
                 tuple(getattr(nic, name) for name in Nic.__slots__))


def delete_nic(conn, network_id, nic_id):
    conn.execute("DELETE FROM nics WHERE network_id = ? AND nic_id = ?", (network_id, nic_id))


def delete_nics(conn, network_id):
    conn.execute("DELETE FROM nics WHERE network_id = ?", (network_id,))


def count_nics(conn, network_id):
    return conn.execute("SELECT COUNT(*) FROM nics WHERE network_id = ?",
                        (network_id,)).fetchone()[0]
