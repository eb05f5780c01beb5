//! The FHIRPath subset the R4 search parameters use, evaluated over resource JSON.
//!
//! An expression is compiled once for one resource type. Compiling types it statically
//! against the definitions: each member step knows which JSON keys to read (a choice
//! element `Observation.value` reads `valueQuantity`, `valueString`, ...) and what FHIR
//! type each value found there has, so evaluation is plain JSON walking with no lookups,
//! and every result carries its FHIR type for the index conversion.

mod parse;

use crate::defs::{Definitions, Kind, Scope, upper_first};
pub use parse::{Ast, BinOp, parse};
use serde_json::Value;

/// The FHIR type of a value: its type code and, for non-primitives, where its children
/// are defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ty {
    pub code: &'static str,
    scope: Option<Scope<'static>>,
}

/// A Reference after `resolve()`: only its target type is known (`resolve() is Patient`).
const RESOLVED: Ty = Ty {
    code: "$resolved",
    scope: None,
};
const BOOLEAN: Ty = Ty {
    code: "boolean",
    scope: None,
};
const STRING: Ty = Ty {
    code: "string",
    scope: None,
};
const DECIMAL: Ty = Ty {
    code: "decimal",
    scope: None,
};

static TRUE: Value = Value::Bool(true);
static FALSE: Value = Value::Bool(false);

/// One value an expression produced, with its FHIR type.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    pub value: &'a Value,
    pub ty: Ty,
}

/// An expression compiled for one resource type.
#[derive(Debug)]
pub struct Expression {
    plan: Plan,
    root: Ty,
    /// Every type the results can have.
    pub result_types: Vec<Ty>,
}

impl Expression {
    /// Compiles `text` for resources of type `resource_type`. Errors name what is not
    /// supported (or not valid); branches for other resource types compile to nothing.
    pub fn compile(text: &str, resource_type: &str) -> Result<Expression, String> {
        let defs = Definitions::get();
        let (name, t) = defs
            .types
            .get_key_value(resource_type)
            .ok_or("unknown resource type")?;
        if t.kind != Kind::Resource {
            return Err(format!("{resource_type} is not a resource type"));
        }
        let root = Ty {
            code: name.as_str(),
            scope: Some((name.as_str(), name.as_str())),
        };
        let ast = parse(text)?;
        let (plan, result_types) = Compiler { defs, root }.compile(&ast, &[root], true)?;
        Ok(Expression {
            plan,
            root,
            result_types,
        })
    }

    /// Appends the results for `resource` to `out`.
    pub fn evaluate<'a>(&'a self, resource: &'a Value, out: &mut Vec<Node<'a>>) {
        let root = Node {
            value: resource,
            ty: self.root,
        };
        self.plan.eval(root, &[root], out);
    }
}

/// What a compiled expression does.
#[derive(Debug)]
enum Plan {
    Empty,
    /// The focus (`$this`; at the top level, the resource).
    This,
    /// `%resource`.
    Root,
    Literal(Value, Ty),
    /// Steps applied to each value of the input in turn.
    Path(Box<Plan>, Vec<Step>),
    /// `[n]` and `first()`.
    Index(Box<Plan>, usize),
    Exists(Box<Plan>),
    Not(Box<Plan>),
    /// `is Type`: true when the single input is of one of the codes (or, resolved, the
    /// named resource type).
    Is(Box<Plan>, TypeTest),
    Union(Box<Plan>, Box<Plan>),
    Equals {
        left: Box<Plan>,
        right: Box<Plan>,
        negate: bool,
    },
    Logic(BinOp, Box<Plan>, Box<Plan>),
}

#[derive(Debug)]
enum Step {
    /// Reads a member; one branch per input scope.
    Member(Vec<MemberBranch>),
    /// Keeps values whose type passes the test (`ofType`, `as`).
    OfType(TypeTest),
    Where(Plan),
    /// `.extension(url)`.
    Extension(String, Ty),
    Resolve,
    /// Keeps References whose target is of the named resource type.
    TargetIs(String),
}

#[derive(Debug)]
struct MemberBranch {
    scope: Scope<'static>,
    /// For a choice element, its name (`value`): its keys are found by scanning the
    /// object once rather than looking up each possible key (`valueQuantity`, ...).
    choice: Option<String>,
    /// The JSON keys to read (several for a choice element) and the type found there.
    hops: Vec<(String, Ty)>,
}

#[derive(Debug)]
struct TypeTest {
    /// The type codes that are (subtypes of) the tested type.
    codes: Vec<&'static str>,
    /// The tested type, for references after `resolve()`.
    name: String,
}

impl TypeTest {
    fn passes(&self, node: &Node) -> bool {
        if node.ty.code == RESOLVED.code {
            return reference_target_type(node.value).is_some_and(|t| t == self.name);
        }
        self.codes.contains(&node.ty.code)
    }
}

/// The resource type a Reference points to: from `Type/id` (relative or absolute,
/// possibly with `/_history/n`), else its `type` element.
pub fn reference_target_type(reference: &Value) -> Option<&str> {
    if let Some(r) = reference.get("reference").and_then(Value::as_str)
        && let Some((t, _)) = split_reference(r)
    {
        return Some(t);
    }
    reference.get("type").and_then(Value::as_str)
}

/// `Patient/1`, `Patient/1/_history/2`, `https://x/fhir/Patient/1` -> (`Patient`, `1`).
/// None for `urn:` and `#contained` references and anything without a resource type.
pub fn split_reference(r: &str) -> Option<(&str, &str)> {
    if r.starts_with('#') || r.starts_with("urn:") {
        return None;
    }
    let path = r.split(['?', '#']).next().unwrap_or(r);
    let mut parts = path.rsplit('/');
    let mut id = parts.next()?;
    let mut t = parts.next()?;
    if t == "_history" {
        id = parts.next()?;
        t = parts.next()?;
    }
    let valid_id = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    (valid_id && Definitions::get().is_resource_type(t)).then_some((t, id))
}

struct Compiler {
    defs: &'static Definitions,
    root: Ty,
}

type Compiled = (Plan, Vec<Ty>);

impl Compiler {
    /// Compiles `ast` for a focus whose values have the types `focus`. `top` is true
    /// outside function arguments, where a leading type name filters the resource.
    fn compile(&self, ast: &Ast, focus: &[Ty], top: bool) -> Result<Compiled, String> {
        match ast {
            Ast::Ident(name) if top && starts_upper(name) && self.defs.type_def(name).is_some() => {
                let test = self.type_test(name);
                let kept: Vec<Ty> = focus
                    .iter()
                    .copied()
                    .filter(|t| test.codes.contains(&t.code))
                    .collect();
                if kept.is_empty() {
                    Ok((Plan::Empty, kept))
                } else if kept.len() == focus.len() {
                    Ok((Plan::This, kept))
                } else {
                    Ok((
                        Plan::Path(Box::new(Plan::This), vec![Step::OfType(test)]),
                        kept,
                    ))
                }
            }
            Ast::Ident(name) => self.member((Plan::This, focus.to_vec()), name),
            Ast::Var(v) if v == "$this" => Ok((Plan::This, focus.to_vec())),
            Ast::Var(v) if v == "resource" || v == "rootResource" => {
                Ok((Plan::Root, vec![self.root]))
            }
            Ast::Var(v) => Err(format!("unsupported variable {v}")),
            Ast::Str(s) => Ok((
                Plan::Literal(Value::String(s.clone()), STRING),
                vec![STRING],
            )),
            Ast::Bool(b) => Ok((Plan::Literal(Value::Bool(*b), BOOLEAN), vec![BOOLEAN])),
            Ast::Number(n) => {
                let v: Value = serde_json::from_str(n).map_err(|_| format!("bad number {n}"))?;
                Ok((Plan::Literal(v, DECIMAL), vec![DECIMAL]))
            }
            Ast::Member(target, name) => {
                let target = self.compile(target, focus, top)?;
                self.member(target, name)
            }
            Ast::Index(target, index) => {
                let (plan, tys) = self.compile(target, focus, top)?;
                let Ast::Number(n) = &**index else {
                    return Err("non-literal index".into());
                };
                let n = n.parse().map_err(|_| format!("bad index {n}"))?;
                Ok((Plan::Index(Box::new(plan), n), tys))
            }
            Ast::TypeOp {
                expr,
                is_test,
                type_name,
            } => {
                let target = self.compile(expr, focus, top)?;
                if *is_test {
                    Ok(self.is(target, type_name))
                } else {
                    Ok(self.of_type(target, type_name))
                }
            }
            Ast::Call { target, name, args } => {
                let target = match target {
                    Some(t) => self.compile(t, focus, top)?,
                    None => (Plan::This, focus.to_vec()),
                };
                self.call(target, name, args)
            }
            Ast::Binary(op, l, r) => {
                let (lp, lt) = self.compile(l, focus, top)?;
                let (rp, rt) = self.compile(r, focus, top)?;
                let (l, r) = (Box::new(lp), Box::new(rp));
                match op {
                    // Shared parameters name many types; drop the other types' branches.
                    BinOp::Union if matches!(*l, Plan::Empty) => Ok((*r, rt)),
                    BinOp::Union if matches!(*r, Plan::Empty) => Ok((*l, lt)),
                    BinOp::Union => {
                        let mut tys = lt;
                        for t in rt {
                            if !tys.contains(&t) {
                                tys.push(t);
                            }
                        }
                        Ok((Plan::Union(l, r), tys))
                    }
                    BinOp::Eq | BinOp::NotEq => Ok((
                        Plan::Equals {
                            left: l,
                            right: r,
                            negate: *op == BinOp::NotEq,
                        },
                        vec![BOOLEAN],
                    )),
                    BinOp::And | BinOp::Or | BinOp::Xor | BinOp::Implies => {
                        Ok((Plan::Logic(*op, l, r), vec![BOOLEAN]))
                    }
                    _ => Err(format!("unsupported operator {op:?}")),
                }
            }
        }
    }

    fn call(&self, (plan, tys): Compiled, name: &str, args: &[Ast]) -> Result<Compiled, String> {
        let type_arg = || match args {
            [Ast::Ident(t)] => Ok(t.as_str()),
            [Ast::Member(_, t)] => Ok(t.as_str()),
            _ => Err(format!("{name}() takes a type name")),
        };
        match (name, args.len()) {
            ("where", 1) => {
                // `where(resolve() is Patient)`, the commonest filter, runs without the
                // general machinery's intermediate collections.
                if let Some(target) = resolved_type_test(&args[0]) {
                    return Ok((push_step(plan, Step::TargetIs(target.to_string())), tys));
                }
                let (cond, _) = self.compile(&args[0], &tys, false)?;
                Ok((push_step(plan, Step::Where(cond)), tys))
            }
            ("exists", 0) => Ok((Plan::Exists(Box::new(plan)), vec![BOOLEAN])),
            ("exists", 1) => {
                let (cond, _) = self.compile(&args[0], &tys, false)?;
                Ok((
                    Plan::Exists(Box::new(push_step(plan, Step::Where(cond)))),
                    vec![BOOLEAN],
                ))
            }
            ("empty", 0) => Ok((
                Plan::Not(Box::new(Plan::Exists(Box::new(plan)))),
                vec![BOOLEAN],
            )),
            ("not", 0) => Ok((Plan::Not(Box::new(plan)), vec![BOOLEAN])),
            ("first", 0) => Ok((Plan::Index(Box::new(plan), 0), tys)),
            ("ofType" | "as", 1) => Ok(self.of_type((plan, tys), type_arg()?)),
            ("is", 1) => Ok(self.is((plan, tys), type_arg()?)),
            ("resolve", 0) => Ok((push_step(plan, Step::Resolve), vec![RESOLVED])),
            ("extension", 1) => {
                let [Ast::Str(url)] = args else {
                    return Err("extension() takes a URL".into());
                };
                let ext = self.complex("Extension");
                Ok((
                    push_step(plan, Step::Extension(url.clone(), ext)),
                    vec![ext],
                ))
            }
            _ => Err(format!("unsupported function {name}/{}", args.len())),
        }
    }

    fn of_type(&self, (plan, tys): Compiled, type_name: &str) -> Compiled {
        let test = self.type_test(type_name);
        let kept: Vec<Ty> = tys
            .into_iter()
            .filter(|t| *t == RESOLVED || test.codes.contains(&t.code))
            .collect();
        if kept.is_empty() {
            return (Plan::Empty, kept);
        }
        (push_step(plan, Step::OfType(test)), kept)
    }

    fn is(&self, (plan, _): Compiled, type_name: &str) -> Compiled {
        (
            Plan::Is(Box::new(plan), self.type_test(type_name)),
            vec![BOOLEAN],
        )
    }

    /// Every type that is `name` or derives from it (`Quantity` -> Age, Duration, ...).
    fn type_test(&self, name: &str) -> TypeTest {
        let name = name.strip_prefix("FHIR.").unwrap_or(name);
        let codes = self
            .defs
            .types
            .keys()
            .filter(|k| self.is_a(k, name))
            .map(String::as_str)
            .collect();
        TypeTest {
            codes,
            name: name.to_string(),
        }
    }

    fn is_a(&self, mut code: &str, ancestor: &str) -> bool {
        loop {
            if code == ancestor {
                return true;
            }
            match self.defs.type_def(code).and_then(|t| t.base.as_deref()) {
                Some(base) => code = base,
                None => return false,
            }
        }
    }

    /// `target.name`: resolved for each type the target can have.
    fn member(&self, (plan, tys): Compiled, name: &str) -> Result<Compiled, String> {
        if tys.is_empty() {
            return Ok((Plan::Empty, tys));
        }
        let mut branches = Vec::new();
        let mut out_tys: Vec<Ty> = Vec::new();
        for ty in &tys {
            let Some(scope) = ty.scope else { continue };
            let hops = self.children(scope, name);
            if hops.is_empty() {
                continue;
            }
            for (_, t) in &hops {
                if !out_tys.contains(t) {
                    out_tys.push(*t);
                }
            }
            let choice = (hops.len() > 1 || hops[0].0 != name).then(|| name.to_string());
            branches.push(MemberBranch {
                scope,
                choice,
                hops,
            });
        }
        if branches.is_empty() {
            let types: Vec<_> = tys.iter().map(|t| t.code).collect();
            return Err(format!("no element {name} in {types:?}"));
        }
        Ok((push_step(plan, Step::Member(branches)), out_tys))
    }

    /// The JSON keys and types of the element `name` under `scope`.
    fn children(&self, (type_name, path): Scope<'static>, name: &str) -> Vec<(String, Ty)> {
        let Some(t) = self.defs.type_def(type_name) else {
            return Vec::new();
        };
        if let Some(e) = t.element(&format!("{path}.{name}")) {
            let ty = match (&e.content_ref, e.types.first()) {
                (Some(r), _) => Ty {
                    code: "BackboneElement",
                    scope: Some((type_name, r.as_str())),
                },
                (None, Some(code)) => self.element_type(type_name, e.path.as_str(), code.as_str()),
                (None, None) => return Vec::new(),
            };
            return vec![(name.to_string(), ty)];
        }
        let Some(e) = t.element(&format!("{path}.{name}[x]")) else {
            return Vec::new();
        };
        e.types
            .iter()
            .map(|code| {
                (
                    format!("{name}{}", upper_first(code)),
                    self.element_type(type_name, e.path.as_str(), code.as_str()),
                )
            })
            .collect()
    }

    fn element_type(
        &self,
        owner: &'static str,
        element_path: &'static str,
        code: &'static str,
    ) -> Ty {
        match code {
            "BackboneElement" | "Element" => Ty {
                code,
                scope: Some((owner, element_path)),
            },
            _ => match self.defs.type_def(code) {
                Some(t) if t.kind != Kind::Primitive => self.complex(code),
                _ => Ty { code, scope: None },
            },
        }
    }

    fn complex(&self, code: &str) -> Ty {
        let (name, _) = self
            .defs
            .types
            .get_key_value(code)
            .expect("complex types are defined");
        Ty {
            code: name.as_str(),
            scope: Some((name.as_str(), name.as_str())),
        }
    }
}

/// The type name in `resolve() is Type`.
fn resolved_type_test(ast: &Ast) -> Option<&str> {
    match ast {
        Ast::TypeOp {
            expr,
            is_test: true,
            type_name,
        } => match &**expr {
            Ast::Call {
                target: None,
                name,
                args,
            } if name == "resolve" && args.is_empty() => {
                Some(type_name.strip_prefix("FHIR.").unwrap_or(type_name))
            }
            _ => None,
        },
        _ => None,
    }
}

fn starts_upper(s: &str) -> bool {
    s.chars().next().is_some_and(char::is_uppercase)
}

/// Appends a per-value step, extending an existing path rather than nesting.
fn push_step(plan: Plan, step: Step) -> Plan {
    match plan {
        Plan::Empty => Plan::Empty,
        Plan::Path(input, mut steps) => {
            steps.push(step);
            Plan::Path(input, steps)
        }
        other => Plan::Path(Box::new(other), vec![step]),
    }
}

impl Plan {
    /// Evaluates with `focus` as `$this`, appending results to `out`.
    fn eval<'a>(&'a self, root: Node<'a>, focus: &[Node<'a>], out: &mut Vec<Node<'a>>) {
        match self {
            Plan::Empty => {}
            Plan::This => out.extend_from_slice(focus),
            Plan::Root => out.push(root),
            Plan::Literal(v, ty) => out.push(Node { value: v, ty: *ty }),
            Plan::Path(input, steps) => {
                if let Plan::This = **input {
                    for &node in focus {
                        run_steps(steps, root, node, out);
                    }
                } else {
                    for node in collect(input, root, focus) {
                        run_steps(steps, root, node, out);
                    }
                }
            }
            Plan::Index(input, n) => {
                if let Some(node) = collect(input, root, focus).get(*n) {
                    out.push(*node);
                }
            }
            Plan::Exists(input) => out.push(boolean(!collect(input, root, focus).is_empty())),
            Plan::Not(input) => {
                if let Some(b) = truth(&collect(input, root, focus)) {
                    out.push(boolean(!b));
                }
            }
            Plan::Is(input, test) => {
                if let [node] = collect(input, root, focus)[..] {
                    out.push(boolean(test.passes(&node)));
                }
            }
            Plan::Union(l, r) => {
                l.eval(root, focus, out);
                r.eval(root, focus, out);
            }
            Plan::Equals {
                left,
                right,
                negate,
            } => {
                let (l, r) = (collect(left, root, focus), collect(right, root, focus));
                if !l.is_empty() && !r.is_empty() {
                    let equal = l.len() == r.len()
                        && l.iter()
                            .zip(&r)
                            .all(|(a, b)| values_equal(a.value, b.value));
                    out.push(boolean(equal != *negate));
                }
            }
            Plan::Logic(op, l, r) => {
                let a = truth(&collect(l, root, focus));
                let b = truth(&collect(r, root, focus));
                if let Some(v) = logic(*op, a, b) {
                    out.push(boolean(v));
                }
            }
        }
    }
}

fn collect<'a>(plan: &'a Plan, root: Node<'a>, focus: &[Node<'a>]) -> Vec<Node<'a>> {
    let mut v = Vec::new();
    plan.eval(root, focus, &mut v);
    v
}

/// Runs `steps` on one value, streaming results into `out` without intermediate lists.
fn run_steps<'a>(steps: &'a [Step], root: Node<'a>, node: Node<'a>, out: &mut Vec<Node<'a>>) {
    let Some((step, rest)) = steps.split_first() else {
        out.push(node);
        return;
    };
    match step {
        Step::Member(branches) => {
            let Some(scope) = node.ty.scope else { return };
            let Some(branch) = branches.iter().find(|b| same_scope(b.scope, scope)) else {
                return;
            };
            let Value::Object(object) = node.value else {
                return;
            };
            match &branch.choice {
                Some(prefix) => {
                    for (key, value) in object
                        .iter()
                        .filter(|(k, _)| k.starts_with(prefix.as_str()))
                    {
                        if let Some((_, ty)) = branch.hops.iter().find(|(hop, _)| hop == key) {
                            visit(rest, root, value, *ty, out);
                        }
                    }
                }
                None => {
                    let (key, ty) = &branch.hops[0];
                    if let Some(value) = object.get(key.as_str()) {
                        visit(rest, root, value, *ty, out);
                    }
                }
            }
        }
        Step::OfType(test) => {
            if test.passes(&node) {
                run_steps(rest, root, node, out);
            }
        }
        Step::Where(cond) => {
            if truth(&collect(cond, root, &[node])) == Some(true) {
                run_steps(rest, root, node, out);
            }
        }
        Step::Extension(url, ty) => {
            let Some(Value::Array(exts)) = node.value.get("extension") else {
                return;
            };
            for ext in exts
                .iter()
                .filter(|e| e.get("url").and_then(Value::as_str) == Some(url))
            {
                run_steps(
                    rest,
                    root,
                    Node {
                        value: ext,
                        ty: *ty,
                    },
                    out,
                );
            }
        }
        Step::TargetIs(name) => {
            if node.ty.code == "Reference"
                && reference_target_type(node.value) == Some(name.as_str())
            {
                run_steps(rest, root, node, out);
            }
        }
        Step::Resolve => {
            if node.ty.code == "Reference" {
                run_steps(
                    rest,
                    root,
                    Node {
                        value: node.value,
                        ty: RESOLVED,
                    },
                    out,
                );
            }
        }
    }
}

/// Continues with a member's value: each item of an array (FHIRPath flattens), skipping
/// the nulls that pad arrays whose primitives carry extensions in `_key`.
fn visit<'a>(steps: &'a [Step], root: Node<'a>, value: &'a Value, ty: Ty, out: &mut Vec<Node<'a>>) {
    match value {
        Value::Array(items) => {
            for item in items.iter().filter(|v| !v.is_null()) {
                run_steps(steps, root, Node { value: item, ty }, out);
            }
        }
        Value::Null => {}
        _ => run_steps(steps, root, Node { value, ty }, out),
    }
}

/// Scopes are compared very often; they normally share the definitions' strings, so
/// compare addresses first.
fn same_scope(a: Scope, b: Scope) -> bool {
    (std::ptr::eq(a.0, b.0) && std::ptr::eq(a.1, b.1)) || a == b
}

fn boolean(b: bool) -> Node<'static> {
    Node {
        value: if b { &TRUE } else { &FALSE },
        ty: BOOLEAN,
    }
}

/// A collection as a boolean: empty is unknown, a single boolean is itself, any other
/// single value is true.
fn truth(nodes: &[Node]) -> Option<bool> {
    match nodes {
        [] => None,
        [n] => Some(n.value.as_bool().unwrap_or(true)),
        _ => None,
    }
}

/// FHIRPath's three-valued logic.
fn logic(op: BinOp, a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match op {
        BinOp::And => match (a, b) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        BinOp::Or => match (a, b) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        BinOp::Xor => Some(a? != b?),
        BinOp::Implies => match (a, b) {
            (Some(false), _) | (_, Some(true)) => Some(true),
            (Some(true), Some(false)) => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Equality of two primitive values; values of different kinds are unequal.
fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The results of `expr` on `resource`, as (type code, value) pairs.
    fn eval(expr: &str, resource: &Value) -> Vec<(&'static str, Value)> {
        let rt = resource["resourceType"].as_str().unwrap();
        let e = Expression::compile(expr, rt).unwrap_or_else(|err| panic!("{expr}: {err}"));
        let mut out = Vec::new();
        e.evaluate(resource, &mut out);
        out.into_iter()
            .map(|n| (n.ty.code, n.value.clone()))
            .collect()
    }

    fn patient() -> Value {
        json!({
            "resourceType": "Patient",
            "id": "p1",
            "name": [{"family": "Chalmers", "given": ["Peter", "James"]}, {"given": ["Jim"]}],
            "telecom": [{"system": "phone", "value": "0123"}, {"system": "email", "value": "a@b.c"}],
            "deceasedDateTime": "2020-01-01",
            "generalPractitioner": [{"reference": "Practitioner/1"}, {"reference": "Organization/2"}],
            "extension": [{"url": "http://x/ext", "valueCode": "abc"}]
        })
    }

    #[test]
    fn paths_types_and_arrays() {
        let p = patient();
        assert_eq!(
            eval("Patient.name.family", &p),
            vec![("string", json!("Chalmers"))]
        );
        assert_eq!(eval("Patient.name.given", &p).len(), 3);
        assert_eq!(eval("Patient.name", &p)[0].0, "HumanName");
        assert_eq!(eval("Resource.id", &p), vec![("id", json!("p1"))]);
        assert_eq!(
            eval("Patient.name[1].given", &p),
            vec![("string", json!("Jim"))]
        );
        assert_eq!(eval("Patient.name.first().family", &p).len(), 1);
        // Branches for other resource types yield nothing.
        assert_eq!(
            eval("Person.name | Patient.name.family | Practitioner.name", &p).len(),
            1
        );
        assert!(eval("Patient.birthDate", &p).is_empty());
    }

    #[test]
    fn choice_elements_and_type_filters() {
        let p = patient();
        assert_eq!(
            eval("Patient.deceased", &p),
            vec![("dateTime", json!("2020-01-01"))]
        );
        assert_eq!(eval("Patient.deceased.ofType(dateTime)", &p).len(), 1);
        assert!(eval("Patient.deceased.ofType(boolean)", &p).is_empty());
        assert_eq!(eval("(Patient.deceased as dateTime)", &p).len(), 1);
        assert_eq!(
            eval("Patient.deceased is dateTime", &p),
            vec![("boolean", json!(true))]
        );
        let obs =
            json!({"resourceType": "Observation", "valueQuantity": {"value": 5.1, "unit": "mg"}});
        assert_eq!(
            eval("(Observation.value as Quantity).unit", &obs),
            vec![("string", json!("mg"))]
        );
        assert_eq!(
            eval("Observation.value.ofType(Quantity)", &obs)[0].0,
            "Quantity"
        );
        assert!(eval("Observation.value.ofType(CodeableConcept)", &obs).is_empty());
        // Age is a Quantity.
        let cond = json!({"resourceType": "Condition", "onsetAge": {"value": 40}});
        assert_eq!(eval("Condition.onset.ofType(Quantity)", &cond)[0].0, "Age");
    }

    #[test]
    fn where_resolve_and_comparisons() {
        let p = patient();
        assert_eq!(
            eval("Patient.telecom.where(system='email').value", &p),
            vec![("string", json!("a@b.c"))]
        );
        assert_eq!(
            eval(
                "Patient.generalPractitioner.where(resolve() is Organization)",
                &p
            ),
            vec![("Reference", json!({"reference": "Organization/2"}))]
        );
        assert_eq!(
            eval(
                "Patient.deceased.exists() and Patient.deceased != false",
                &p
            ),
            vec![("boolean", json!(true))]
        );
        let alive = json!({"resourceType": "Patient", "deceasedBoolean": false});
        assert_eq!(
            eval(
                "Patient.deceased.exists() and Patient.deceased != false",
                &alive
            ),
            vec![("boolean", json!(false))]
        );
        let unknown = json!({"resourceType": "Patient"});
        assert_eq!(
            eval(
                "Patient.deceased.exists() and Patient.deceased != false",
                &unknown
            ),
            vec![("boolean", json!(false))]
        );
        assert_eq!(
            eval("Patient.extension('http://x/ext').value", &p),
            vec![("code", json!("abc"))]
        );
        assert!(eval("Patient.extension('http://other').value", &p).is_empty());
        assert_eq!(
            eval("Patient.name.where(given = 'Jim').exists()", &p),
            vec![("boolean", json!(true))]
        );
        assert_eq!(
            eval(
                "Patient.name.where($this.family.exists()).given.first()",
                &p
            ),
            vec![("string", json!("Peter"))]
        );
    }

    #[test]
    fn nested_and_recursive_elements() {
        let q = json!({"resourceType": "QuestionnaireResponse", "item": [{"linkId": "1", "item": [{"linkId": "1.1"}]}]});
        assert_eq!(
            eval("QuestionnaireResponse.item.item.linkId", &q),
            vec![("string", json!("1.1"))]
        );
        let b = json!({"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Composition", "id": "c"}}]});
        assert_eq!(eval("Bundle.entry[0].resource", &b)[0].0, "Resource");
    }

    #[test]
    fn compile_errors_are_reported() {
        assert!(Expression::compile("Patient.nosuch", "Patient").is_err());
        assert!(Expression::compile("Patient.name.descendants()", "Patient").is_err());
        assert!(Expression::compile("Patient.name", "NotAType").is_err());
        assert!(Expression::compile("Patient.name.", "Patient").is_err());
    }

    #[test]
    fn splits_references() {
        assert_eq!(split_reference("Patient/123"), Some(("Patient", "123")));
        assert_eq!(
            split_reference("http://x/fhir/Patient/123/_history/2"),
            Some(("Patient", "123"))
        );
        assert_eq!(
            split_reference("Patient/123/_history/2"),
            Some(("Patient", "123"))
        );
        assert_eq!(
            split_reference("urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"),
            None
        );
        assert_eq!(split_reference("#p1"), None);
        assert_eq!(split_reference("Nonsense/1"), None);
        assert_eq!(split_reference("Patient/bad id"), None);
        assert_eq!(
            reference_target_type(&json!({"type": "Patient", "identifier": {"value": "1"}})),
            Some("Patient")
        );
    }
}
