import Testing

/// Parent of every suite that runs real coordinators. Serialized so that the heavy tests
/// (enrolment storms, kill -9) never starve the latency-sensitive ones on a 2-core machine;
/// the whole set still runs in seconds.
@Suite(.serialized) struct IntegrationTests {}
