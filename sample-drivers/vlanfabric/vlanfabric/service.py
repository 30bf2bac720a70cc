"""Vlanfabric: a sample network driver, in Python, simulating a top-of-rack
switch fabric. Each implemented network is a VLAN on the fabric, taken from
the range vlan_first..vlan_last of the property bag; each prepared NIC is an
access port on that VLAN. It is layer 2 only: public IPs, NAT, firewall and
load-balancing rules belong to an L3 driver (nvpnet), so ApplyIps and
ApplyRules answer UNIMPLEMENTED, and driver.yaml declares only the
Connectivity capability. The fabric lives in the state directory (store.py)
and survives restarts, kill -9 and upgrades.

Rules every operation follows:
- Every operation but GetCapabilities is keyed on a network:
  context.resource.type "network" with a non-empty id, else INVALID_ARGUMENT.
- Every mutating operation needs fabric_manager, api_user and api_token as
  non-empty strings (INVALID_ARGUMENT naming the missing one) and, when
  license_expiry is set, a license that has not expired
  (FAILED_PRECONDITION). The token is never logged.
- Idempotency: the SDK's OperationLog, in the same SQLite transaction as the
  change. The same operation id again for the same method and network
  returns the first answer without applying anything; for another method or
  network it is INVALID_ARGUMENT; failed operations are not remembered.
- Errors name the network, NIC or VLAN and say what to do.

Per operation:
  GetCapabilities   Connectivity: IsolationMethods vlan, VlanRange, Mtu,
                    SupportedGuestTypes (Shared only with allow_shared).
  VerifyServices    supported when every service listed is Connectivity;
                    otherwise a reason naming the others. Changes nothing.
  ImplementNetwork  guest_type Isolated (when empty), L2, or Shared (needs
                    allow_shared, else FAILED_PRECONDITION). cidr: an IP
                    network, required except for L2; gateway, if set, inside
                    it. broadcast_uri empty takes the lowest free VLAN of the
                    range (RESOURCE_EXHAUSTED when none is left);
                    "vlan://N" takes VLAN N, which must be in the range and
                    free (FAILED_PRECONDITION naming its network otherwise).
                    Implementing an existing network again with the same
                    cidr, guest type and VLAN brings it up and answers as
                    before; different settings are FAILED_PRECONDITION.
                    Details: vlan, broadcast_uri and isolation_uri
                    ("vlan://N"), mtu, fabric, guest_type.
  PrepareNic        the network must exist (NOT_FOUND) and be up
                    (FAILED_PRECONDITION); nic.id and a MAC
                    (xx:xx:xx:xx:xx:xx) are required; an IP, if set, must be
                    inside the cidr. The same NIC again with the same MAC and
                    IP answers its port; another MAC or IP, or a MAC or IP
                    another NIC has, is FAILED_PRECONDITION. Answers the
                    port id and details vlan, mtu.
  ReleaseNic        removes the NIC's port; NOT_FOUND for an unknown network
                    or NIC.
  ApplyIps,
  ApplyRules        UNIMPLEMENTED: layer 2 only.
  ShutdownNetwork   takes the VLAN down (it stays reserved); cleanup also
                    removes its ports. NOT_FOUND for an unknown network;
                    twice is fine.
  DestroyNetwork    frees the VLAN; NOT_FOUND for an unknown network,
                    FAILED_PRECONDITION while NICs are attached.

Thread-safe: calls run concurrently; SQLite serializes the changes.
"""

import datetime
import ipaddress
import re

from pitstop_driver import (Properties, failed_precondition, invalid_argument, not_found,
                            require_resource, resource_exhausted, unimplemented)
from pitstop.driver.v1 import network_pb2 as pb
from pitstop.driver.v1 import network_pb2_grpc

from . import store

GUEST_TYPES = ("Isolated", "L2", "Shared")
_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}\Z")
_VLAN_URI = re.compile(r"vlan://([0-9]{1,4})\Z")
_CREDENTIALS = ("fabric_manager", "api_user", "api_token")


class Settings:
    """What a call's property bag says about the fabric."""

    def __init__(self, props):
        self.fabric = props.get_string("fabric_manager", "")
        self.first = props.get_integer("vlan_first")
        self.last = props.get_integer("vlan_last")
        self.mtu = props.get_integer("mtu")
        self.allow_shared = props.get_bool("allow_shared")
        if self.first > self.last:
            raise invalid_argument("property 'vlan_first' (%d) is above 'vlan_last' (%d): "
                                   "the VLAN range is empty" % (self.first, self.last))

    def guest_types(self):
        return [t for t in GUEST_TYPES if t != "Shared" or self.allow_shared]


class VlanFabricService(network_pb2_grpc.NetworkServiceServicer):

    def __init__(self, state_dir, schema=None, clock=None):
        """`schema`: the driver's property schema (DriverInfo.properties),
        for defaults; `clock`: returns the current aware datetime (tests)."""
        self._db, self._ops = store.open_store(state_dir)
        self._schema = schema or {}
        self._now = clock or (lambda: datetime.datetime.now(datetime.timezone.utc))

    # -- helpers --------------------------------------------------------

    def _props(self, request):
        return Properties(request.context, self._schema)

    def _for_change(self, request):
        """The network id and Settings of a mutating call, after the
        checks every change needs."""
        network_id = require_resource(request.context, "network")
        props = self._props(request)
        props.require_strings(_CREDENTIALS,
                              "vlanfabric needs them to reach the fabric manager")
        expiry = props.get_date("license_expiry", None)
        if expiry is not None and self._now() >= expiry:
            raise failed_precondition(
                "the fabric's license expired on %s: renew it and update the property "
                "license_expiry" % expiry.strftime("%Y-%m-%dT%H:%M:%SZ"))
        return network_id, Settings(props)

    def _run(self, request, method, response_type, apply):
        return self._ops.run(request.context, method, response_type, apply)

    # -- reads ----------------------------------------------------------

    def GetCapabilities(self, request, context):
        settings = Settings(self._props(request))
        response = pb.GetNetworkCapabilitiesResponse()
        connectivity = response.services["Connectivity"].capabilities
        connectivity["IsolationMethods"] = "vlan"
        connectivity["VlanRange"] = "%d-%d" % (settings.first, settings.last)
        connectivity["Mtu"] = str(settings.mtu)
        connectivity["SupportedGuestTypes"] = ",".join(settings.guest_types())
        return response

    def VerifyServices(self, request, context):
        require_resource(request.context, "network")
        others = sorted(set(s for s in request.services if s != "Connectivity"))
        if not others:
            return pb.VerifyServicesResponse(supported=True)
        return pb.VerifyServicesResponse(
            supported=False,
            reason="vlanfabric provides only Connectivity (VLAN isolation); %s need an "
                   "L3 network driver such as nvpnet" % ", ".join(others))

    # -- networks -------------------------------------------------------

    def ImplementNetwork(self, request, context):
        network_id, settings = self._for_change(request)
        guest_type = request.guest_type or "Isolated"
        if guest_type not in GUEST_TYPES:
            raise invalid_argument("network %s: guest_type must be one of %s (got '%s')"
                                   % (network_id, ", ".join(GUEST_TYPES), guest_type))
        if guest_type == "Shared" and not settings.allow_shared:
            raise failed_precondition("network %s: Shared networks are not allowed on this "
                                      "fabric; set the property allow_shared to true"
                                      % network_id)
        cidr, gateway = _check_addresses(network_id, guest_type, request.cidr, request.gateway)
        wanted_vlan = _requested_vlan(network_id, request.broadcast_uri)

        def apply(tx, response):
            existing = store.get_network(tx, network_id)
            if existing is not None:
                _check_same(network_id, existing, cidr, gateway, guest_type, wanted_vlan)
                store.set_network_state(tx, network_id, "up")
                network = existing
            else:
                network = store.Network(network_id, _pick_vlan(tx, network_id, settings,
                                                               wanted_vlan),
                                        cidr, gateway, guest_type, request.zone,
                                        settings.mtu, "up")
                store.insert_network(tx, network)
            uri = "vlan://%d" % network.vlan
            response.details.update({
                "vlan": str(network.vlan), "broadcast_uri": uri, "isolation_uri": uri,
                "mtu": str(network.mtu), "fabric": settings.fabric,
                "guest_type": network.guest_type})

        return self._run(request, "ImplementNetwork", pb.ImplementNetworkResponse, apply)

    def ShutdownNetwork(self, request, context):
        network_id, _ = self._for_change(request)

        def apply(tx, response):
            _existing(tx, network_id)
            if request.cleanup:
                store.delete_nics(tx, network_id)
            store.set_network_state(tx, network_id, "down")

        return self._run(request, "ShutdownNetwork", pb.ShutdownNetworkResponse, apply)

    def DestroyNetwork(self, request, context):
        network_id, _ = self._for_change(request)

        def apply(tx, response):
            network = _existing(tx, network_id)
            attached = store.count_nics(tx, network_id)
            if attached:
                raise failed_precondition(
                    "network %s still has %d NIC(s) attached on vlan %d: release them, or "
                    "shut the network down with cleanup, first"
                    % (network_id, attached, network.vlan))
            store.delete_network(tx, network_id)

        return self._run(request, "DestroyNetwork", pb.DestroyNetworkResponse, apply)

    # -- NICs -----------------------------------------------------------

    def PrepareNic(self, request, context):
        network_id, _ = self._for_change(request)
        nic = request.nic
        if not nic.id:
            raise invalid_argument("network %s: nic.id is empty: name the NIC" % network_id)
        mac = nic.mac.lower()
        if not _MAC.match(mac):
            raise invalid_argument("network %s, NIC %s: nic.mac must be a MAC address "
                                   "xx:xx:xx:xx:xx:xx (got '%s')" % (network_id, nic.id, nic.mac))

        def apply(tx, response):
            network = _existing(tx, network_id)
            if network.state != "up":
                raise failed_precondition("network %s is shut down: implement it again "
                                          "before preparing NICs" % network_id)
            ip = _check_nic_ip(network, nic)
            found = store.get_nic(tx, network_id, nic.id)
            if found is not None:
                if (found.mac, found.ip) != (mac, ip):
                    raise failed_precondition(
                        "network %s: NIC %s is already prepared with MAC %s and IP '%s'; "
                        "release it first to change them" % (network_id, nic.id, found.mac,
                                                            found.ip))
                port = found.port_id
            else:
                for what, value, owner in (("MAC", mac, store.nic_with_mac(tx, network_id, mac)),
                                           ("IP", ip, store.nic_with_ip(tx, network_id, ip))):
                    if owner is not None:
                        raise failed_precondition("network %s: %s %s is already used by NIC %s"
                                                  % (network_id, what, value, owner))
                port = store.port_id(network_id, nic.id)
                store.insert_nic(tx, store.Nic(network_id, nic.id, mac, ip,
                                               request.vm.id, port))
            response.port_id = port
            response.details.update({"vlan": str(network.vlan), "mtu": str(network.mtu)})

        return self._run(request, "PrepareNic", pb.PrepareNicResponse, apply)

    def ReleaseNic(self, request, context):
        network_id, _ = self._for_change(request)
        if not request.nic_id:
            raise invalid_argument("network %s: nic_id is empty: name the NIC" % network_id)

        def apply(tx, response):
            _existing(tx, network_id)
            if store.get_nic(tx, network_id, request.nic_id) is None:
                raise not_found("network %s has no NIC %s" % (network_id, request.nic_id))
            store.delete_nic(tx, network_id, request.nic_id)

        return self._run(request, "ReleaseNic", pb.ReleaseNicResponse, apply)

    # -- layer 3: not this driver's job ----------------------------------

    def ApplyIps(self, request, context):
        raise unimplemented("vlanfabric is a layer-2 driver and manages no public IPs; "
                            "use an L3 network driver such as nvpnet")

    def ApplyRules(self, request, context):
        raise unimplemented("vlanfabric is a layer-2 driver and applies no NAT, firewall "
                            "or load-balancing rules; use an L3 network driver such as "
                            "nvpnet")


def _existing(tx, network_id):
    network = store.get_network(tx, network_id)
    if network is None:
        raise not_found("network %s is not implemented on this fabric" % network_id)
    return network


def _check_addresses(network_id, guest_type, cidr, gateway):
    """(cidr, gateway) in canonical text, or INVALID_ARGUMENT."""
    if not cidr:
        if guest_type != "L2":
            raise invalid_argument("network %s: a %s network needs a cidr (only L2 "
                                   "networks may go without)" % (network_id, guest_type))
        if gateway:
            raise invalid_argument("network %s: a gateway needs a cidr" % network_id)
        return "", ""
    try:
        net = ipaddress.ip_network(cidr)
    except ValueError as e:
        raise invalid_argument("network %s: cidr '%s' is not an IP network (%s)"
                               % (network_id, cidr, e)) from None
    if gateway:
        try:
            inside = ipaddress.ip_address(gateway) in net
        except ValueError:
            inside = False
        if not inside:
            raise invalid_argument("network %s: gateway '%s' is not an address inside %s"
                                   % (network_id, gateway, net))
    return str(net), gateway


def _requested_vlan(network_id, broadcast_uri):
    if not broadcast_uri:
        return None
    match = _VLAN_URI.match(broadcast_uri)
    if not match or not 1 <= int(match.group(1)) <= 4094:
        raise invalid_argument("network %s: broadcast_uri must be empty or vlan://<1-4094> "
                               "(got '%s')" % (network_id, broadcast_uri))
    return int(match.group(1))


def _pick_vlan(tx, network_id, settings, wanted):
    if wanted is not None:
        if not settings.first <= wanted <= settings.last:
            raise failed_precondition("network %s: vlan %d is outside this fabric's range "
                                      "%d-%d; ask for another or widen vlan_first/vlan_last"
                                      % (network_id, wanted, settings.first, settings.last))
        owner = store.network_on_vlan(tx, wanted)
        if owner is not None:
            raise failed_precondition("network %s: vlan %d is in use by network %s"
                                      % (network_id, wanted, owner))
        return wanted
    vlan = store.lowest_free_vlan(tx, settings.first, settings.last)
    if vlan is None:
        raise resource_exhausted("network %s: all %d VLANs of %d-%d are in use; destroy "
                                 "unused networks or widen vlan_first/vlan_last"
                                 % (network_id, settings.last - settings.first + 1,
                                    settings.first, settings.last))
    return vlan


def _check_same(network_id, existing, cidr, gateway, guest_type, wanted_vlan):
    differences = []
    if existing.cidr != cidr:
        differences.append("cidr '%s' (asked '%s')" % (existing.cidr, cidr))
    if existing.gateway != gateway:
        differences.append("gateway '%s' (asked '%s')" % (existing.gateway, gateway))
    if existing.guest_type != guest_type:
        differences.append("guest type %s (asked %s)" % (existing.guest_type, guest_type))
    if wanted_vlan is not None and existing.vlan != wanted_vlan:
        differences.append("vlan %d (asked %d)" % (existing.vlan, wanted_vlan))
    if differences:
        raise failed_precondition("network %s is already implemented with %s: destroy it "
                                  "first to change that" % (network_id, ", ".join(differences)))


def _check_nic_ip(network, nic):
    if not nic.ip:
        return ""
    try:
        address = ipaddress.ip_address(nic.ip)
    except ValueError:
        raise invalid_argument("network %s, NIC %s: nic.ip '%s' is not an IP address"
                               % (network.id, nic.id, nic.ip)) from None
    if network.cidr and address not in ipaddress.ip_network(network.cidr):
        raise invalid_argument("network %s, NIC %s: IP %s is outside the network's cidr %s"
                               % (network.id, nic.id, address, network.cidr))
    return str(address)
