#!/usr/bin/env python3
"""Writes the seed corpora in Fuzz/corpus/TARGET/ from the examples the unit tests use.

Run from anywhere (`python3 Fuzz/make-seeds.py`); it replaces only the seed files it names
(seed-*), never the regression inputs in Fuzz/regressions/. The binary seeds (tokens with their
checksum, netlink messages) are computed here so each can be checked against the format the
README and the tests describe.
"""
import base64, hashlib, json, os, shutil, struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
seeds = {}

def add(target, data):
    if isinstance(data, str):
        data = data.encode()
    seeds.setdefault(target, []).append(data)

# token: EnrolmentTokenTests' sample (team "lab", IPv4, IPv6 and name endpoints) as text, and
# the same payloads without checksum (the harness also reads its input as a payload).
def token_payload(team, endpoints, secret=bytes(range(32)), key=bytes(range(100, 132)), tid=bytes(range(1, 9))):
    b = bytes([1]) + tid + secret + key + bytes([len(team)]) + team.encode() + bytes([len(endpoints)])
    for e in endpoints:
        b += bytes([len(e)]) + e.encode()
    return b

def token_text(payload):
    full = payload + hashlib.blake2b(payload, digest_size=32).digest()[:4]
    return "twt1-" + base64.urlsafe_b64encode(full).decode().rstrip("=")

for team, eps in [("lab", ["192.0.2.1:7946"]),
                  ("iris", ["coord.example:7946", "[2001:db8::1]:7946"]),
                  ("a" * 63, ["198.51.100.7:7946", "localhost:80", "[::ffff:102:304]:9"])]:
    p = token_payload(team, eps)
    add("token", token_text(p))
    add("token", "  " + token_text(p) + "\n")
    add("token", p)
add("token", "twt2-AAAA")

# frames: envelopes (request and reply) with an unopenable box, and both path signals.
key, nonce = bytes(range(32)), bytes(range(24))
add("frames", b"TW\x01\x01" + key + nonce + bytes(16))
add("frames", b"TW\x01\x01" + key + nonce + b'{"type":"request"}' + bytes(16))
add("frames", b"TW\x01\x02" + nonce + bytes(40))
add("frames", b"TW\x02\x01" + key)
add("frames", b"teamwire-path-1\x01\x64\x40\x00\x02")
add("frames", b"teamwire-path-1\x02\x64\x40\x00\x03")

# sealed-request: the plaintexts HostileSealedTests seals (valid and refused), one per operation.
def request(op, body, ts=1780272000000):
    return '{"type":"request","op":"%s","ts":%d,"body":%s}' % (op, ts, body)
tid = "0102030405060708"
secret = base64.b64encode(bytes(range(32))).decode()
enroll = '{"tokenID":"%s","secret":"%s","team":"iris","name":"robot1","endpoints":["192.0.2.10:51820","[2001:db8::1]:51820"],"listenPort":51820}' % (tid, secret)
for plain in [request("enroll", enroll),
              request("map", '{"since":0,"waitSeconds":0}'),
              request("map", '{"since":18446744073709551615,"waitSeconds":120}', ts=1780272059999),
              request("report", '{"endpoints":["192.0.2.99:51820","host.example:1"],"listenPort":51820}'),
              request("leave", "{}"),
              request("map", '{"since":0,"waitSeconds":0,"admin":true}'),
              request("report", '{"endpoints":[3232235521]}'),
              request("map", '{"since":0,"waitSeconds":0}', ts=-9223372036854775808),
              '{"type":"request","op":"map","ts":1780272000000}']:
    add("sealed-request", plain)

# registry: the same requests against the coordinator's state (team iris; robot1 is this
# node, robot2 another member); the harness puts the real token's id and secret in place of
# the ones written here. Renaming, a taken name, a report that changes endpoints, leaving.
for plain in [request("enroll", enroll),
              request("enroll", enroll.replace('"robot1"', '"robot3"')),
              request("enroll", enroll.replace('"robot1"', '"robot2"')),
              request("enroll", enroll.replace('"iris"', '"atlas"')),
              request("map", '{"since":0,"waitSeconds":0}'),
              request("map", '{"since":2,"waitSeconds":5}'),
              request("report", '{"endpoints":["192.0.2.99:51820","[2001:db8::7]:51820"],"listenPort":4500}'),
              request("report", '{"endpoints":["192.0.2.10:51820"],"listenPort":51820}'),
              request("leave", "{}"),
              request("map", '{"since":0,"waitSeconds":0}', ts=1780272070000)]:
    add("registry", plain)

# sealed-reply: replies as the coordinator seals them (ControlCodec.sealReply, sealReply(encodedOK:)).
nonce_b64 = base64.b64encode(bytes(range(24))).decode()
pub = base64.b64encode(bytes(range(32))).decode()
member = '{"address":"100.64.0.2","endpoints":["192.0.2.10:51820"],"name":"robot1","observedEndpoint":"203.0.113.5:51820","publicKey":"%s","role":"robot"}' % pub
team = '{"mode":"auto","name":"iris","prefix":"100.64.0.0/24","rosDomainID":1,"rosMaster":"robot1"}'
hub = '{"address":"100.64.0.1","endpoints":["198.51.100.1:51820"],"publicKey":"%s"}' % pub
mapupdate = '{"added":[],"full":true,"hub":%s,"members":[%s],"removed":[],"revision":3,"team":%s,"updated":[]}' % (hub, member, team)
for ok in ['{"map":%s,"node":%s}' % (mapupdate, member), mapupdate,
           '{"observedEndpoint":"203.0.113.5:51820","revision":4}', "{}"]:
    add("sealed-reply", '{"inReplyTo":"%s","ok":%s,"ts":1780272000000,"type":"reply"}' % (nonce_b64, ok))
add("sealed-reply", '{"error":{"code":"clock_skew","message":"request timestamp is 70 s away","serverTime":1780272000000},"inReplyTo":"%s","ts":1780272000000,"type":"reply"}' % nonce_b64)

# strict-json: the admin requests (HostileAdminTests) and the node bodies.
for body in ['{"name":"iris","prefix":"100.80.0.0/24","mode":"relay","rosDomainID":7}', '{"name":"atlas"}',
             '{"uses":5,"expiresInSeconds":86400,"role":"laptop"}', '{"reusable":true}', '{"name":"robot1"}',
             enroll, '{"since":3,"waitSeconds":30}', '{"endpoints":["192.0.2.1:1"],"listenPort":null}', "{}",
             request("map", '{"since":0,"waitSeconds":0}'), '{"name":"iris","x":{"y":[1,2,{"z":null}]}}',
             "[" * 40 + "]" * 40, '{"uses":1.5}', '{"uses":1e30}']:
    add("strict-json", body)

# uapi: UAPITests' get replies and set replies.
k = lambda n: bytes([n]) * 32
add("uapi", ("private_key=%s\nlisten_port=51820\nfwmark=4660\npublic_key=%s\npreshared_key=%s\nprotocol_version=1\n"
             "endpoint=192.0.2.7:51820\nlast_handshake_time_sec=1700000000\nlast_handshake_time_nsec=123\ntx_bytes=1000\n"
             "rx_bytes=2000\npersistent_keepalive_interval=25\nallowed_ip=100.64.0.2/32\nallowed_ip=fd00::/64\npublic_key=%s\n"
             "preshared_key=%s\nendpoint=[2001:db8::1]:4500\nlast_handshake_time_sec=0\nlast_handshake_time_nsec=0\ntx_bytes=0\n"
             "rx_bytes=0\npersistent_keepalive_interval=0\nsome_future_field=1\nerrno=0\n\n")
    % (k(1).hex(), k(2).hex(), k(3).hex(), k(4).hex(), "0" * 64))
add("uapi", "listen_port=41046\nerrno=0\n\n")
add("uapi", "errno=0\n\n")
add("uapi", "errno=-98\n\n")
add("uapi", "listen_port=abc\nerrno=0\n\n")
add("uapi", "endpoint=1.2.3.4:5\nerrno=0\n\n")

# netlink: a WireGuard GET reply (as NetlinkTestCodec encodes it), an nlmsgerr with extended
# ack, an RTM_NEWLINK and a genl controller reply.
def attr(t, payload, nested=False):
    pad = (4 - len(payload) % 4) % 4
    return struct.pack("<HH", 4 + len(payload), t | (0x8000 if nested else 0)) + payload + bytes(pad)

def nlmsg(type_, flags, body):
    return struct.pack("<IHHII", 16 + len(body), type_, flags, 1, 4242) + body

def sockaddr4(ip, port):
    return struct.pack("<H", 2) + struct.pack(">H", port) + bytes(ip) + bytes(8)

def sockaddr6(ip, port):
    return struct.pack("<H", 10) + struct.pack(">H", port) + bytes(4) + bytes(ip) + bytes(4)

allowed = attr(9, attr(0, attr(1, struct.pack("<H", 2)) + attr(2, bytes([100, 64, 0, 2])) + attr(3, bytes([32])), True)
               + attr(0, attr(1, struct.pack("<H", 10)) + attr(2, bytes([0xfd] + [0] * 15)) + attr(3, bytes([64])), True), True)
peer1 = attr(0, attr(1, k(2)) + attr(2, k(3)) + attr(4, sockaddr4([192, 0, 2, 7], 51820)) + attr(5, struct.pack("<H", 25))
             + attr(6, struct.pack("<qq", 1700000000, 123)) + attr(7, struct.pack("<Q", 2000)) + attr(8, struct.pack("<Q", 1000))
             + attr(10, struct.pack("<I", 1)) + allowed, True)
peer2 = attr(0, attr(1, k(4)) + attr(4, sockaddr6([0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [1], 4500)), True)
device = (bytes([0, 1, 0, 0]) + attr(2, b"wg0\x00") + attr(3, k(1)) + attr(6, struct.pack("<H", 51820))
          + attr(7, struct.pack("<I", 0x1234)) + attr(8, peer1 + peer2, True))
add("netlink", nlmsg(0x1c, 2, device))
add("netlink", nlmsg(0x1c, 2, device) + nlmsg(0x1c, 2, bytes([0, 1, 0, 0]) + attr(8, attr(0, attr(1, k(2)) + allowed, True), True)) + nlmsg(3, 2, struct.pack("<i", 0)))
add("netlink", nlmsg(2, 0x300, struct.pack("<i", -22) + bytes(16) + attr(1, b"Invalid argument\x00")))
add("netlink", nlmsg(2, 0, struct.pack("<i", -2147483648)))
ifinfo = struct.pack("<BBHiII", 0, 0, 0, 7, 1, 1)
add("netlink", nlmsg(16, 0, ifinfo + attr(3, b"tw-iris\x00") + attr(4, struct.pack("<I", 1420)) + attr(18, attr(1, b"wireguard"), True)))
add("netlink", nlmsg(0x10, 0, bytes([1, 2, 0, 0]) + attr(2, b"wireguard\x00") + attr(1, struct.pack("<H", 0x1c))))

# ros-env: RosEnvironmentTests' files: rendered, hand-edited, quoted across lines, refused.
add("ros-env", "# ROS environment for node robot1 in team iris\n# generated by teamwire; do not edit\nexport ROS_IP=100.64.0.2\n"
               "export ROS_HOSTNAME=100.64.0.2\nexport ROS_MASTER_URI=http://100.64.0.2:11311\nexport ROS_DOMAIN_ID=1\n"
               "export ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET\nexport ROS_STATIC_PEERS='100.64.0.3;100.64.0.4'\n"
               "export CYCLONEDDS_URI=file:///var/lib/teamwire/ros/iris/cyclonedds.xml\n")
add("ros-env", "unset ROS_MASTER_URI\n  export A='it'\\''s'\n\nexport B='two\nlines'  \n\t# comment\n")
add("ros-env", "export A=$HOME\n")
add("ros-env", "export A='open\n")
add("ros-env", "export 1A=b\n")

# addresses: the parsers' test cases, accepted and refused.
for s in ["1.2.3.4", "255.255.255.255", "01.2.3.4", "2001:DB8:0:0::1", "::ffff:1.2.3.4", "::", "fe80::1%eth0",
          "100.80.0.0/24", "100.80.0.1/24", "0.0.0.0/0", "1.2.3.4:51820", "[2001:db8::1]:51820", "Coord.Example.COM:7946",
          "1e100.net:443", "1.2.3.4:080", "fd00::/64", "10.0.0.0/33", pub, bytes(range(32)).hex(), "0102030405060708",
          "AQID", "AQI=", "AQ==", "deadBEEF", "robot-1", bytes(range(16)).hex()]:
    add("addresses", s)
add("addresses", bytes([0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [1, 64]))
add("addresses", bytes([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]))

# agent-api: the bodies `teamwire join`, `leave` and `ping` send.
tok = token_text(token_payload("iris", ["192.0.2.1:7946"]))
for body in [json.dumps({"token": tok, "name": "robot1"}), json.dumps({"token": "twt1-x", "name": "Robot 1"}),
             json.dumps({"team": "iris"}), json.dumps({"team": "a-very-long-team-name"}), '{"team":5}', "[]",
             json.dumps({"team": "iris", "name": "robot2", "sequence": 1, "timeoutMillis": 2000}),
             json.dumps({"name": "robot2", "sequence": 65536, "timeoutMillis": 50})]:
    add("agent-api", body)

for target, items in seeds.items():
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.startswith("seed-"):
            os.remove(os.path.join(d, f))
    for i, data in enumerate(items):
        with open(os.path.join(d, "seed-%02d" % i), "wb") as f:
            f.write(data)
    print(target, len(items))
