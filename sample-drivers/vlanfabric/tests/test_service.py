import concurrent.futures
import datetime
import unittest

import harness
import grpc

from pitstop.driver.v1 import network_pb2 as pb

UTC = datetime.timezone.utc
BAG = {"fabric_manager": "fabric.example.com", "api_user": "admin", "api_token": "s3cret"}


def request(kind, network="n1", operation_id="", bag=None, **fields):
    name = "GetNetworkCapabilities" if kind == "GetCapabilities" else kind
    r = getattr(pb, name + "Request")(**fields)
    r.context.resource.type, r.context.resource.id = "network", network
    r.context.operation_id = operation_id
    for key, value in dict(BAG, **(bag or {})).items():
        if isinstance(value, bool):
            r.context.properties[key].bool_value = value
        elif isinstance(value, int):
            r.context.properties[key].number_value = str(value)
        elif isinstance(value, datetime.datetime):
            r.context.properties[key].date_value = value.strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            r.context.properties[key].string_value = value
    return r


class VlanFabricTest(unittest.TestCase):

    def setUp(self):
        self.fabric = harness.Fabric(self)

    def call(self, method, req):
        return getattr(self.fabric.stub, method)(req, timeout=10)

    def refused(self, code, text, method, req):
        with self.assertRaises(grpc.RpcError) as raised:
            self.call(method, req)
        self.assertEqual(raised.exception.code(), code, raised.exception.details())
        self.assertIn(text, raised.exception.details())
        return raised.exception.details()

    def implement(self, network="n1", operation_id="", bag=None, **fields):
        fields.setdefault("cidr", "10.1.0.0/24")
        return self.call("ImplementNetwork", request("ImplementNetwork", network, operation_id,
                                                     bag, **fields))

    def test_networks_get_the_lowest_free_vlans_of_the_range(self):
        self.assertEqual(self.implement("n1").details["vlan"], "100")
        second = self.implement("n2", cidr="10.2.0.0/24")
        self.assertEqual(dict(second.details), {
            "vlan": "101", "broadcast_uri": "vlan://101", "isolation_uri": "vlan://101",
            "mtu": "1500", "fabric": "fabric.example.com", "guest_type": "Isolated"})
        self.call("DestroyNetwork", request("DestroyNetwork", "n1"))
        self.assertEqual(self.implement("n3", cidr="10.3.0.0/24").details["vlan"], "100")

    def test_a_requested_vlan_must_be_in_range_and_free(self):
        self.assertEqual(self.implement("n1", broadcast_uri="vlan://150").details["vlan"], "150")
        self.refused(grpc.StatusCode.FAILED_PRECONDITION, "vlan 150 is in use by network n1",
                     "ImplementNetwork", request("ImplementNetwork", "n2", cidr="10.2.0.0/24",
                                                 broadcast_uri="vlan://150"))
        self.refused(grpc.StatusCode.FAILED_PRECONDITION, "vlan 50 is outside this fabric's "
                     "range 100-999", "ImplementNetwork",
                     request("ImplementNetwork", "n2", cidr="10.2.0.0/24",
                             broadcast_uri="vlan://50"))
        self.refused(grpc.StatusCode.INVALID_ARGUMENT, "broadcast_uri must be empty or vlan://",
                     "ImplementNetwork", request("ImplementNetwork", "n2", cidr="10.2.0.0/24",
                                                 broadcast_uri="lswitch://x"))

    def test_an_exhausted_range_is_resource_exhausted(self):
        small = {"vlan_first": 10, "vlan_last": 11}
        self.implement("a", bag=small)
        self.implement("b", bag=small, cidr="10.2.0.0/24")
        self.refused(grpc.StatusCode.RESOURCE_EXHAUSTED, "all 2 VLANs of 10-11 are in use",
                     "ImplementNetwork", request("ImplementNetwork", "c", bag=small,
                                                 cidr="10.3.0.0/24"))

    def test_the_same_operation_id_is_applied_once_and_answers_as_the_first_time(self):
        first = self.implement("n1", operation_id="op-1")
        self.call("ShutdownNetwork", request("ShutdownNetwork", "n1"))
        self.call("DestroyNetwork", request("DestroyNetwork", "n1"))
        again = self.implement("n1", operation_id="op-1")
        self.assertEqual(again, first)
        self.refused(grpc.StatusCode.NOT_FOUND, "network n1 is not implemented",
                     "ShutdownNetwork", request("ShutdownNetwork", "n1"))
        self.refused(grpc.StatusCode.INVALID_ARGUMENT,
                     "'op-1' was already used for ImplementNetwork on network/n1",
                     "DestroyNetwork", request("DestroyNetwork", "n1", operation_id="op-1"))

    def test_remembered_operations_and_the_fabric_survive_a_restart(self):
        first = self.implement("n1", operation_id="op-1")
        self.call("PrepareNic", request("PrepareNic", "n1", "op-2",
                                        nic=pb.Nic(id="nic1", mac="02:00:00:00:00:01")))
        self.fabric.restart()
        self.assertEqual(self.implement("n1", operation_id="op-1"), first)
        self.refused(grpc.StatusCode.FAILED_PRECONDITION, "still has 1 NIC(s) attached on "
                     "vlan 100", "DestroyNetwork", request("DestroyNetwork", "n1"))

    def test_a_failed_operation_is_not_remembered(self):
        self.refused(grpc.StatusCode.NOT_FOUND, "network n1 is not implemented",
                     "DestroyNetwork", request("DestroyNetwork", "n1", operation_id="op-9"))
        self.implement("n1")
        self.call("DestroyNetwork", request("DestroyNetwork", "n1", operation_id="op-9"))

    def test_implementing_again_brings_the_network_up_and_other_settings_are_refused(self):
        self.implement("n1")
        self.call("ShutdownNetwork", request("ShutdownNetwork", "n1"))
        self.refused(grpc.StatusCode.FAILED_PRECONDITION, "network n1 is shut down",
                     "PrepareNic", request("PrepareNic", "n1",
                                           nic=pb.Nic(id="a", mac="02:00:00:00:00:01")))
        self.assertEqual(self.implement("n1").details["vlan"], "100")
        self.call("PrepareNic", request("PrepareNic", "n1",
                                        nic=pb.Nic(id="a", mac="02:00:00:00:00:01")))
        self.refused(grpc.StatusCode.FAILED_PRECONDITION, "cidr '10.1.0.0/24' (asked "
                     "'10.9.0.0/24')", "ImplementNetwork",
                     request("ImplementNetwork", "n1", cidr="10.9.0.0/24"))

    def test_nics_get_a_stable_port_and_conflicts_are_refused(self):
        self.implement("n1")
        nic = pb.Nic(id="nic1", mac="02:00:00:00:00:0A", ip="10.1.0.5")
        port = self.call("PrepareNic", request("PrepareNic", "n1", nic=nic))
        self.assertTrue(port.port_id.startswith("port-"))
        self.assertEqual(dict(port.details), {"vlan": "100", "mtu": "1500"})
        self.assertEqual(self.call("PrepareNic", request("PrepareNic", "n1", nic=nic)), port)
        self.refused(grpc.StatusCode.FAILED_PRECONDITION, "MAC 02:00:00:00:00:0a is already "
                     "used by NIC nic1", "PrepareNic", request("PrepareNic", "n1", nic=pb.Nic(
                         id="nic2", mac="02:00:00:00:00:0a")))
        self.refused(grpc.StatusCode.FAILED_PRECONDITION, "IP 10.1.0.5 is already used",
                     "PrepareNic", request("PrepareNic", "n1", nic=pb.Nic(
                         id="nic2", mac="02:00:00:00:00:0b", ip="10.1.0.5")))
        self.refused(grpc.StatusCode.INVALID_ARGUMENT, "IP 10.2.0.5 is outside the network's "
                     "cidr", "PrepareNic", request("PrepareNic", "n1", nic=pb.Nic(
                         id="nic3", mac="02:00:00:00:00:0c", ip="10.2.0.5")))
        self.refused(grpc.StatusCode.INVALID_ARGUMENT, "nic.mac must be a MAC address",
                     "PrepareNic", request("PrepareNic", "n1", nic=pb.Nic(id="x", mac="zz")))
        self.call("ReleaseNic", request("ReleaseNic", "n1", nic_id="nic1"))
        self.refused(grpc.StatusCode.NOT_FOUND, "network n1 has no NIC nic1", "ReleaseNic",
                     request("ReleaseNic", "n1", nic_id="nic1"))
        self.call("DestroyNetwork", request("DestroyNetwork", "n1"))

    def test_shutdown_with_cleanup_removes_the_ports(self):
        self.implement("n1")
        self.call("PrepareNic", request("PrepareNic", "n1",
                                        nic=pb.Nic(id="a", mac="02:00:00:00:00:01")))
        self.call("ShutdownNetwork", request("ShutdownNetwork", "n1", cleanup=True))
        self.call("ShutdownNetwork", request("ShutdownNetwork", "n1"))
        self.call("DestroyNetwork", request("DestroyNetwork", "n1"))

    def test_guest_types_and_addresses_are_checked(self):
        self.refused(grpc.StatusCode.FAILED_PRECONDITION, "set the property allow_shared",
                     "ImplementNetwork", request("ImplementNetwork", guest_type="Shared",
                                                 cidr="10.1.0.0/24"))
        shared = self.implement("s", bag={"allow_shared": True}, guest_type="Shared")
        self.assertEqual(shared.details["guest_type"], "Shared")
        self.assertEqual(self.implement("l2", cidr="", guest_type="L2").details["vlan"], "101")
        for fields, text in (({"cidr": ""}, "a Isolated network needs a cidr"),
                             ({"cidr": "10.1.0.1/24"}, "cidr '10.1.0.1/24' is not an IP network"),
                             ({"gateway": "10.9.0.1"}, "gateway '10.9.0.1' is not an address"),
                             ({"guest_type": "Vpc"}, "guest_type must be one of")):
            with self.subTest(text=text):
                fields = dict({"cidr": "10.1.0.0/24"}, **fields)
                self.refused(grpc.StatusCode.INVALID_ARGUMENT, text, "ImplementNetwork",
                             request("ImplementNetwork", "bad", **fields))

    def test_every_call_is_keyed_on_a_network_and_needs_the_credentials(self):
        wrong = request("ImplementNetwork", cidr="10.1.0.0/24")
        wrong.context.resource.type = "vm"
        self.refused(grpc.StatusCode.INVALID_ARGUMENT, "keyed on a network", "ImplementNetwork",
                     wrong)
        no_token = request("ImplementNetwork", cidr="10.1.0.0/24")
        del no_token.context.properties["api_token"]
        message = self.refused(grpc.StatusCode.INVALID_ARGUMENT, "property 'api_token' is not "
                               "set", "ImplementNetwork", no_token)
        self.assertNotIn("s3cret", message)

    def test_an_expired_license_refuses_changes_but_not_reads(self):
        now = datetime.datetime(2026, 6, 1, tzinfo=UTC)
        self.fabric.clock = lambda: now
        self.fabric.restart()
        expired = {"license_expiry": datetime.datetime(2026, 5, 31, tzinfo=UTC)}
        self.refused(grpc.StatusCode.FAILED_PRECONDITION, "license expired on "
                     "2026-05-31T00:00:00Z", "ImplementNetwork",
                     request("ImplementNetwork", bag=expired, cidr="10.1.0.0/24"))
        self.call("GetCapabilities", request("GetCapabilities", bag=expired))
        self.implement("n1", bag={"license_expiry": datetime.datetime(2027, 1, 1, tzinfo=UTC)})

    def test_capabilities_and_verify_services_say_layer_2_only(self):
        caps = self.call("GetCapabilities", request("GetCapabilities", network="",
                                                    bag={"vlan_first": 200, "vlan_last": 299}))
        self.assertEqual(list(caps.services), ["Connectivity"])
        self.assertEqual(dict(caps.services["Connectivity"].capabilities), {
            "IsolationMethods": "vlan", "VlanRange": "200-299", "Mtu": "1500",
            "SupportedGuestTypes": "Isolated,L2"})
        self.assertTrue(self.call("VerifyServices", request(
            "VerifyServices", services=["Connectivity"])).supported)
        answer = self.call("VerifyServices", request("VerifyServices",
                                                     services=["Connectivity", "Firewall", "Lb"]))
        self.assertFalse(answer.supported)
        self.assertIn("Firewall, Lb need an L3 network driver", answer.reason)
        self.refused(grpc.StatusCode.INVALID_ARGUMENT, "'vlan_first' (300) is above "
                     "'vlan_last' (299)", "GetCapabilities",
                     request("GetCapabilities", bag={"vlan_first": 300, "vlan_last": 299}))

    def test_layer_3_operations_are_unimplemented_with_a_reason(self):
        for method in ("ApplyIps", "ApplyRules"):
            with self.subTest(method=method):
                self.refused(grpc.StatusCode.UNIMPLEMENTED, "vlanfabric is a layer-2 driver",
                             method, request(method))

    def test_concurrent_implements_never_share_a_vlan(self):
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda i: self.implement(
                "n%d" % i, cidr="10.%d.0.0/24" % i).details["vlan"], range(24)))
        self.assertEqual(sorted(answers, key=int), [str(v) for v in range(100, 124)])


if __name__ == "__main__":
    unittest.main()
