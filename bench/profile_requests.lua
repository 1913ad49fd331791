-- wrk script for POST /api/profile/{username}/request.
-- Arguments after `--`: "new" <prefix> (a distinct username per request)
-- or "duplicate" <prefix> <count> (cycles through <prefix>0 .. <prefix><count-1>, queued beforehand),
-- or "get" <path prefix> <count> [<tokens file>]: GET <path prefix>0 .. <path prefix><count-1> in turn
-- (status polls), each with the next of the file's bearer tokens (one a line) when one is given.
-- done() prints one line "BENCH_JSON {...}" with the figures the bench reads.

local threads = {}
local counter = 0

function setup(thread)
    counter = counter + 1
    thread:set("id", counter)
    table.insert(threads, thread)
end

function init(args)
    mode, prefix, count = args[1], args[2], tonumber(args[3] or "0")
    sent, non2xx = 0, 0
    fixed = {}
    tokens = {}
    if args[4] then
        for line in io.lines(args[4]) do
            table.insert(tokens, "Bearer " .. line)
        end
    end
    if mode == "duplicate" then
        for i = 0, count - 1 do
            fixed[i] = wrk.format("POST", "/api/profile/" .. prefix .. i .. "/request")
        end
    elseif mode == "get" then
        -- One token goes into the prebuilt requests: formatting one per request would cost the load
        -- generator (on the same cores) what the case without a token does not pay.
        local headers = #tokens == 1 and {Authorization = tokens[1]} or nil
        for i = 0, count - 1 do
            fixed[i] = wrk.format("GET", prefix .. i, headers)
        end
    end
end

function request()
    sent = sent + 1
    if mode == "get" and #tokens > 1 then
        local headers = {Authorization = tokens[sent % #tokens + 1]}
        return wrk.format("GET", prefix .. ((sent * 7 + id) % count), headers)
    end
    if mode == "duplicate" or mode == "get" then
        return fixed[(sent * 7 + id) % count]
    end
    return wrk.format("POST", "/api/profile/" .. prefix .. id .. "_" .. sent .. "/request")
end

function response(status, headers, body)
    if status < 200 or status > 299 then
        non2xx = non2xx + 1
    end
end

function done(summary, latency, requests)
    local non2xx_total = 0
    for _, thread in ipairs(threads) do
        non2xx_total = non2xx_total + thread:get("non2xx")
    end
    local e = summary.errors
    io.write(string.format(
        'BENCH_JSON {"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, ' ..
        '"timeouts": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
        summary.requests, summary.duration, non2xx_total, e.connect + e.read + e.write, e.timeout,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
