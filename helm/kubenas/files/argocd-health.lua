-- Argo CD health check for kubenas.io/NASExperiment.
-- Install as resource.customizations.health.kubenas.io_NASExperiment in argocd-cm
-- (see docs/gitops.md). Argo CD sets the global `obj` to the live object; the script
-- returns a table with `status` (Healthy, Progressing, Degraded, Suspended) and `message`.
local hs = { status = "Progressing", message = "Waiting for the operator to start the search" }

local function condition_message(status, kind)
  for _, condition in ipairs(status.conditions or {}) do
    if condition.type == kind and condition.message ~= nil and condition.message ~= "" then
      return condition.message
    end
  end
  return nil
end

local spec = obj.spec or {}
local status = obj.status
if status == nil then
  if spec.suspend == true then
    hs.status = "Suspended"
    hs.message = "Suspended before the search started"
  end
  return hs
end

local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and status.observedGeneration ~= nil
    and status.observedGeneration < generation then
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local function condition_true(kind)
  for _, condition in ipairs(status.conditions or {}) do
    if condition.type == kind and condition.status == "True" then
      return true
    end
  end
  return false
end

local phase = status.phase or "Pending"
local progress = status.progress and (" (" .. status.progress .. " trials)") or ""
if phase ~= "Succeeded" and condition_true("Stalled") then
  -- Failed, or waiting for a person: refused pods or trials, a refused edit, the policy.
  hs.status = "Degraded"
  hs.message = condition_message(status, "Stalled") or "Search failed"
elseif phase == "Succeeded" then
  hs.status = "Healthy"
  local best = status.bestTrial and status.bestTrial.name
  hs.message = condition_message(status, "Ready")
    or ("Search finished" .. (best and ("; best trial " .. best) or ""))
elseif phase == "Failed" then
  hs.status = "Degraded"
  hs.message = condition_message(status, "Stalled") or condition_message(status, "Ready")
    or "Search failed"
elseif phase == "Suspended" or spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "Search suspended" .. progress
else
  hs.message = "Search " .. string.lower(phase) .. progress
end
return hs
