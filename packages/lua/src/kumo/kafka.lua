-- kumo.kafka: not yet. Sterna tests every broker it talks to against the real server, and no
-- Kafka-protocol broker can be installed from Debian's packages to test against; until one
-- can, the functions say so rather than pretend (docs/cluster.md).
local kumo = select(2, ...)
local format = string.format

local function not_yet(name)
  return function()
    error(format(
      '%s: Kafka is not yet supported by Sterna: no Kafka-protocol broker can be installed from '
        .. "Debian's packages to test it against (see docs/cluster.md); publish through "
        .. 'kumo.nats or kumo.amqp instead', name), 2)
  end
end

kumo.kafka = { build_producer = not_yet('kumo.kafka.build_producer') }
