#!/usr/bin/env python3
"""Builds crates/fhir/data/r4-definitions.json: the compact FHIR R4 model the server
validates against and indexes with.

Source: the official HL7 FHIR R4 (4.0.1) definitions (CC0) in ../shared/fhir-r4/:
StructureDefinitions of resources and data types, required-binding value sets
(expanded here where the code systems are FHIR's own), the standard SearchParameters
and the Patient CompartmentDefinition. Run from the repository root:

    python3 tools/gen_fhir_defs.py ../shared/fhir-r4
"""
import json, sys, os

src = sys.argv[1] if len(sys.argv) > 1 else "../shared/fhir-r4"
out = sys.argv[2] if len(sys.argv) > 2 else "crates/fhir/data/r4-definitions.json"

def load(name):
    with open(os.path.join(src, name)) as f:
        return json.load(f)

FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
REGEX_EXT = "http://hl7.org/fhir/StructureDefinition/regex"

def type_code(t, path):
    code = t["code"]
    if code.startswith("http://hl7.org/fhirpath/System."):
        for ext in t.get("extension", []):
            if ext["url"] == FHIR_TYPE_EXT:
                code = ext["valueUrl"]
                break
        else:
            code = "string"
    # R4 quirk: Resource.id is typed 'string' but must be a valid FHIR id.
    if path.endswith(".id") and path.count(".") == 1 and code == "string":
        root = path.split(".")[0]
        if root[0].isupper() and root not in DATATYPES:
            code = "id"
    return code

DATATYPES = set()
types = {}
required_vs = set()
all_sds = [e["resource"] for f in ("profiles-types.json", "profiles-resources.json")
           for e in load(f)["entry"] if e["resource"]["resourceType"] == "StructureDefinition"]
for sd in all_sds:
    if sd["kind"] in ("primitive-type", "complex-type"):
        DATATYPES.add(sd["id"])

for sd in all_sds:
    name = sd["id"]
    kind = {"primitive-type": "primitive", "complex-type": "complex",
            "resource": "resource", "logical": "logical"}[sd["kind"]]
    entry = {"kind": kind, "abstract": sd.get("abstract", False)}
    if sd.get("baseDefinition"):
        entry["base"] = sd["baseDefinition"].rsplit("/", 1)[-1]
    if sd.get("derivation") == "constraint":
        entry["constrains"] = sd["type"]
    elements = []
    for el in sd["snapshot"]["element"]:
        path = el["path"]
        if "." not in path:
            continue
        e = {"path": path, "min": el.get("min", 0), "max": el.get("max", "*")}
        if "contentReference" in el:
            e["ref"] = el["contentReference"].lstrip("#")
        tlist, targets = [], []
        for t in el.get("type", []):
            code = type_code(t, path)
            if code not in tlist:
                tlist.append(code)
            for tp in t.get("targetProfile", []):
                targets.append(tp.rsplit("/", 1)[-1])
            if kind == "primitive" and path.endswith(".value"):
                for ext in t.get("extension", []):
                    if ext["url"] == REGEX_EXT:
                        entry["regex"] = ext["valueString"]
        if tlist:
            e["types"] = tlist
        if targets:
            e["targets"] = sorted(set(targets))
        b = el.get("binding")
        if b and b.get("strength") == "required" and b.get("valueSet"):
            vs = b["valueSet"].split("|")[0]
            e["binding"] = vs
            required_vs.add(vs)
        if el.get("isSummary"):
            e["summary"] = True
        if el.get("isModifier"):
            e["modifier"] = True
        elements.append(e)
    entry["elements"] = elements
    types[name] = entry

# --- value sets of required bindings, expanded where possible --------------------
vs_bundle = load("valuesets.json")["entry"]
codesystems, valuesets = {}, {}
for e in vs_bundle:
    r = e["resource"]
    if r["resourceType"] == "CodeSystem":
        codesystems[r["url"]] = r
    elif r["resourceType"] == "ValueSet":
        valuesets[r["url"]] = r

def cs_concepts(cs):
    out = []
    def walk(concepts, ancestors):
        for c in concepts:
            out.append((c["code"], ancestors))
            walk(c.get("concept", []), ancestors + [c["code"]])
    walk(cs.get("concept", []), [])
    return out

def expand(url, seen=None):
    """Returns a list of [system, code], or None if the value set cannot be expanded
    here (external code systems such as UCUM, BCP-47 languages or MIME types)."""
    seen = seen or set()
    if url in seen:
        return []
    seen.add(url)
    vs = valuesets.get(url)
    if vs is None:
        return None
    codes = []
    compose = vs.get("compose", {})
    for inc in compose.get("include", []):
        for sub in inc.get("valueSet", []):
            sub_codes = expand(sub.split("|")[0], seen)
            if sub_codes is None:
                return None
            codes.extend(sub_codes)
        system = inc.get("system")
        if not system:
            continue
        if "concept" in inc:
            codes.extend([system, c["code"]] for c in inc["concept"])
            continue
        cs = codesystems.get(system)
        if cs is None or cs.get("content") not in (None, "complete"):
            return None
        concepts = cs_concepts(cs)
        filters = inc.get("filter", [])
        if not filters:
            codes.extend([system, c] for c, _ in concepts)
            continue
        for f in filters:
            if f.get("property") == "concept" and f.get("op") in ("is-a", "descendent-of"):
                for c, anc in concepts:
                    if (f["op"] == "is-a" and c == f["value"]) or f["value"] in anc:
                        codes.append([system, c])
            else:
                return None
    excluded = set()
    for exc in compose.get("exclude", []):
        for c in exc.get("concept", []):
            excluded.add((exc.get("system"), c["code"]))
    return [c for c in codes if (c[0], c[1]) not in excluded]

expanded = {}
for url in sorted(required_vs):
    codes = expand(url)
    if codes is not None and codes:
        expanded[url] = codes

# --- search parameters -----------------------------------------------------------
search_params = []
for e in load("search-parameters.json")["entry"]:
    r = e["resource"]
    sp = {"name": r["code"], "type": r["type"], "base": r["base"], "url": r["url"]}
    if r.get("expression"):
        sp["expression"] = r["expression"]
    if r.get("target"):
        sp["target"] = r["target"]
    if r.get("component"):
        sp["component"] = [{"definition": c["definition"].rsplit("/", 1)[-1],
                            "expression": c["expression"]} for c in r["component"]]
    search_params.append(sp)

# --- patient compartment ---------------------------------------------------------
comp = load("compartmentdefinition-patient.json")
compartment = {res["code"]: res.get("param", []) for res in comp["resource"]}

model = {
    "fhirVersion": "4.0.1",
    "source": "HL7 FHIR R4 4.0.1 official definitions (CC0), generated by tools/gen_fhir_defs.py",
    "types": types,
    "valueSets": expanded,
    "searchParameters": search_params,
    "patientCompartment": compartment,
}
with open(out, "w") as f:
    json.dump(model, f, separators=(",", ":"), sort_keys=True)
print(f"{len(types)} types, {len(expanded)}/{len(required_vs)} required value sets expanded, "
      f"{len(search_params)} search parameters -> {out} ({os.path.getsize(out)//1024} KiB)")
