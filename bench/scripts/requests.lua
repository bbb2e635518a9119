-- requests.lua drives wrk from a file of requests, one per line:
--   METHOD<TAB>PATH[<TAB>BODY]
-- picked at random for each request. The file is named by the environment
-- variable WW_REQUESTS; bodies are sent as application/fhir+json; WW_AUTH, when
-- set, is a bearer token sent with every request.
local lines = {}
local path = os.getenv("WW_REQUESTS")
for line in io.lines(path) do
  local method, p, body = line:match("^([A-Z]+)\t([^\t]+)\t?(.*)$")
  if method then lines[#lines + 1] = {method, p, body} end
end
math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
local prefer = os.getenv("WW_PREFER")
if prefer == nil or prefer == "" then prefer = "return=minimal" end
local headers = {["Content-Type"] = "application/fhir+json", ["Prefer"] = prefer}
local getHeaders = {}
-- WW_AUTH is a bearer token (bench/harness --auth): every request carries it.
local token = os.getenv("WW_AUTH")
if token ~= nil and token ~= "" then
  headers["Authorization"] = "Bearer " .. token
  getHeaders["Authorization"] = "Bearer " .. token
end
request = function()
  local r = lines[math.random(#lines)]
  if r[3] ~= nil and r[3] ~= "" then
    return wrk.format(r[1], r[2], headers, r[3])
  end
  return wrk.format(r[1], r[2], getHeaders)
end
