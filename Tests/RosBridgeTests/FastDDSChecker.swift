import Foundation
import TestSupport

/// A small C++ program built during the tests against Debian's Fast DDS (libfastrtps-dev): it
/// loads a profiles file the way ROS 2 does (the default-profiles environment variable, then
/// the default participant QoS), prints what the library understood, and with SECONDS NAME
/// waits for another participant. Fast DDS reports a broken file only in its log and goes on
/// with defaults, so the program counts logged errors and fails on any.
enum FastDDSChecker {
    /// Built once per test run; the error says what is missing.
    static let executable: Result<URL, LabError> = build()

    private static func build() -> Result<URL, LabError> {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rosbridge-fastdds-check-\(getpid())")
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let source = dir.appendingPathComponent("fastdds-check.cpp")
            try FastDDSChecker.source.write(to: source, atomically: true, encoding: .utf8)
            let binary = dir.appendingPathComponent("fastdds-check")
            let r = try Command(args: ["g++", "-std=c++17", "-O1", "-o", binary.path, source.path, "-lfastrtps", "-lfastcdr"]).run()
            guard r.status == 0 else {
                return .failure(LabError("building the Fast DDS checker failed (apt-get install g++ libfastrtps-dev):\n\(r.out)"))
            }
            return .success(binary)
        } catch {
            return .failure(LabError("building the Fast DDS checker: \(error)"))
        }
    }

    static let source = #"""
// Loads a Fast DDS profiles file the way ROS 2 does (the default-profiles environment variable)
// and reports what the library understood; with SECONDS, waits for another participant.
// Builds against Fast DDS 2.x (Debian's libfastrtps-dev) and 3.x.
#if __has_include(<fastdds/config.hpp>)
#include <fastdds/config.hpp>
#define TW_FASTDDS3 1
#define TW_OK eprosima::fastdds::dds::RETCODE_OK
#include <fastdds/rtps/transport/UDPv4TransportDescriptor.hpp>
#include <fastdds/rtps/transport/shared_mem/SharedMemTransportDescriptor.hpp>
#include <fastdds/utils/IPLocator.hpp>
using eprosima::fastdds::rtps::IPLocator;
#else
#include <fastdds/rtps/transport/UDPv4TransportDescriptor.h>
#include <fastdds/rtps/transport/shared_mem/SharedMemTransportDescriptor.h>
#include <fastrtps/utils/IPLocator.h>
using eprosima::fastrtps::rtps::IPLocator;
#define TW_OK ReturnCode_t::RETCODE_OK
#endif
#include <fastdds/dds/domain/DomainParticipant.hpp>
#include <fastdds/dds/domain/DomainParticipantFactory.hpp>
#include <fastdds/dds/domain/DomainParticipantListener.hpp>
#include <fastdds/dds/domain/qos/DomainParticipantQos.hpp>
#include <fastdds/dds/log/Log.hpp>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

using namespace eprosima::fastdds::dds;

static std::atomic<int> errors{0};
static std::atomic<int> discovered{0};

// Fast DDS reports a bad profile only in its log and goes on with defaults: count the errors.
struct ErrorCounter : LogConsumer {
    void Consume(const Log::Entry& e) override {
        if (e.kind == Log::Kind::Error) errors++;
        std::cout << (e.kind == Log::Kind::Error ? "error: " : "warning: ") << e.message << std::endl;
    }
};

template <class Locators> static void print(const char* what, const Locators& list) {
    for (const auto& l : list) std::cout << what << " " << IPLocator::toIPv4string(l) << ":" << l.port << "\n";
}

struct Listener : DomainParticipantListener {
#ifdef TW_FASTDDS3
    void on_participant_discovery(DomainParticipant*, eprosima::fastdds::rtps::ParticipantDiscoveryStatus status,
                                  const ParticipantBuiltinTopicData& info, bool&) override {
        if (status != eprosima::fastdds::rtps::ParticipantDiscoveryStatus::DISCOVERED_PARTICIPANT) return;
        std::cout << "discovered " << info.participant_name.to_string() << "\n";
        print("remote_metatraffic_unicast", info.metatraffic_locators.unicast);
        discovered++;
    }
#else
    void on_participant_discovery(DomainParticipant*, eprosima::fastrtps::rtps::ParticipantDiscoveryInfo&& info) override {
        if (info.status != eprosima::fastrtps::rtps::ParticipantDiscoveryInfo::DISCOVERED_PARTICIPANT) return;
        std::cout << "discovered " << info.info.m_participantName.to_string() << "\n";
        print("remote_metatraffic_unicast", info.info.metatraffic_locators.unicast);
        discovered++;
    }
#endif
};

int main(int argc, char** argv) {
    if (argc != 2 && argc != 4) { std::cerr << "usage: fastdds-check FILE [SECONDS NAME]\n"; return 2; }
    Log::ClearConsumers();
    Log::RegisterConsumer(std::unique_ptr<LogConsumer>(new ErrorCounter));
    Log::SetVerbosity(Log::Warning);
    setenv("FASTRTPS_DEFAULT_PROFILES_FILE", argv[1], 1);  // read by 2.x
    setenv("FASTDDS_DEFAULT_PROFILES_FILE", argv[1], 1);   // read by 3.x
    auto* factory = DomainParticipantFactory::get_instance();
    // As ROS 2 does. It returns OK even for a broken file (only the log tells), and the file must
    // not be loaded a second time (3.x refuses the repeated profile and transport ids).
    if (factory->load_profiles() != TW_OK) std::cout << "load_profiles failed\n", errors++;
    DomainParticipantQos qos = factory->get_default_participant_qos();
    std::cout << "use_builtin_transports " << qos.transport().use_builtin_transports << "\n";
    for (const auto& t : qos.transport().user_transports) {
        if (auto u = std::dynamic_pointer_cast<eprosima::fastdds::rtps::UDPv4TransportDescriptor>(t)) {
            std::cout << "transport udpv4 maxInitialPeersRange=" << u->maxInitialPeersRange
                      << " maxMessageSize=" << u->maxMessageSize << " receiveBufferSize=" << u->receiveBufferSize;
            for (const auto& w : u->interfaceWhiteList) std::cout << " whitelist=" << w;
            std::cout << "\n";
        } else if (std::dynamic_pointer_cast<eprosima::fastdds::rtps::SharedMemTransportDescriptor>(t)) {
            std::cout << "transport shm\n";
        } else {
            std::cout << "transport other\n";
        }
    }
    print("initial_peer", qos.wire_protocol().builtin.initialPeersList);
    print("metatraffic_unicast", qos.wire_protocol().builtin.metatrafficUnicastLocatorList);
    Listener listener;
    if (argc == 4) qos.name(argv[3]);
    DomainParticipant* p = factory->create_participant(0, qos, argc == 4 ? &listener : nullptr);
    if (p == nullptr) {
        std::cout << "create_participant failed\n";
        errors++;
    } else {
        std::cout << "participant created" << std::endl;
        if (argc == 4) {
            auto until = std::chrono::steady_clock::now() + std::chrono::seconds(atoi(argv[2]));
            while (discovered == 0 && std::chrono::steady_clock::now() < until)
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            std::this_thread::sleep_for(std::chrono::seconds(1));  // so that the other side finds us too
        }
        factory->delete_participant(p);
    }
    Log::Flush();
    std::cout << "errors " << errors << "\n";
    if (errors > 0) return 1;
    if (argc == 4 && discovered == 0) { std::cout << "nobody discovered\n"; return 1; }
    return 0;
}
"""#
}
