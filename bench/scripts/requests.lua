-- requests.lua drives wrk from a file of requests, one per line:
--   METHOD<TAB>PATH[<TAB>BODY]
-- picked at random for each request. The file is named by the environment
-- variable WW_REQUESTS; bodies are sent as application/fhir+json.
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
request = function()
  local r = lines[math.random(#lines)]
  if r[3] ~= nil and r[3] ~= "" then
    return wrk.format(r[1], r[2], headers, r[3])
  end
  return wrk.format(r[1], r[2])
end
