//! Parses FHIRPath text into a syntax tree: the subset the R4 search parameters use
//! (paths, indexers, function calls, `|`, `is`/`as`, `=`/`!=`, `and`/`or`, literals).

/// A FHIRPath expression as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Ast {
    /// A bare identifier: a type name (`Patient`) or a member of the focus (`name`).
    Ident(String),
    /// `$this`, `%resource` and the like (without the sigil for `%` variables).
    Var(String),
    Str(String),
    Number(String),
    Bool(bool),
    Member(Box<Ast>, String),
    /// `target.name(args)`, or `name(args)` on the focus when `target` is None.
    Call {
        target: Option<Box<Ast>>,
        name: String,
        args: Vec<Ast>,
    },
    Index(Box<Ast>, Box<Ast>),
    Binary(BinOp, Box<Ast>, Box<Ast>),
    /// `expr is Type` (`is_test`) or `expr as Type`.
    TypeOp {
        expr: Box<Ast>,
        is_test: bool,
        type_name: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Union,
    Eq,
    NotEq,
    Less,
    Greater,
    LessEq,
    GreaterEq,
    And,
    Or,
    Xor,
    Implies,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Var(String),
    Str(String),
    Number(String),
    Sym(&'static str),
}

pub fn parse(text: &str) -> Result<Ast, String> {
    let tokens = lex(text)?;
    let mut p = Parser { tokens, pos: 0 };
    let ast = p.expression(0)?;
    match p.tokens.get(p.pos) {
        None => Ok(ast),
        Some(t) => Err(format!("unexpected {t:?}")),
    }
}

fn lex(text: &str) -> Result<Vec<Token>, String> {
    const SYMBOLS: [&str; 14] = [
        "!=", "<=", ">=", ".", "(", ")", "[", "]", "|", "=", "<", ">", ",", "&",
    ];
    let mut tokens = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
        } else if c == '\'' {
            let (s, len) = string_literal(rest)?;
            tokens.push(Token::Str(s));
            rest = &rest[len..];
        } else if c == '`' {
            let end = rest[1..].find('`').ok_or("unterminated `identifier`")?;
            tokens.push(Token::Ident(rest[1..1 + end].to_string()));
            rest = &rest[end + 2..];
        } else if c.is_ascii_digit() {
            let len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            tokens.push(Token::Number(rest[..len].to_string()));
            rest = &rest[len..];
        } else if c.is_alphabetic() || c == '_' || c == '$' || c == '%' {
            let start = usize::from(c == '$' || c == '%');
            let len = start + word_len(&rest[start..]);
            if len == start {
                return Err(format!("bad variable at {rest:?}"));
            }
            let word = &rest[..len];
            tokens.push(match c {
                '%' => Token::Var(word[1..].to_string()),
                '$' => Token::Var(word.to_string()),
                _ => Token::Ident(word.to_string()),
            });
            rest = &rest[len..];
        } else if let Some(sym) = SYMBOLS.iter().find(|s| rest.starts_with(**s)) {
            tokens.push(Token::Sym(sym));
            rest = &rest[sym.len()..];
        } else {
            return Err(format!("unexpected character {c:?}"));
        }
    }
    Ok(tokens)
}

fn word_len(s: &str) -> usize {
    s.find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len())
}

/// A `'quoted'` string starting `s`: its value and its length in `s`.
fn string_literal(s: &str) -> Result<(String, usize), String> {
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' => return Ok((out, i + 1)),
            '\\' => {
                let (_, e) = chars.next().ok_or("unterminated string")?;
                out.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    other => other,
                });
            }
            _ => out.push(c),
        }
    }
    Err("unterminated string".into())
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

/// Binding strength of binary operators, loosest first (FHIRPath's precedence table).
fn binary_op(t: &Token) -> Option<(BinOp, u8)> {
    Some(match t {
        Token::Ident(w) if w == "implies" => (BinOp::Implies, 1),
        Token::Ident(w) if w == "or" => (BinOp::Or, 2),
        Token::Ident(w) if w == "xor" => (BinOp::Xor, 2),
        Token::Ident(w) if w == "and" => (BinOp::And, 3),
        Token::Sym("=") => (BinOp::Eq, 4),
        Token::Sym("!=") => (BinOp::NotEq, 4),
        Token::Sym("<") => (BinOp::Less, 5),
        Token::Sym(">") => (BinOp::Greater, 5),
        Token::Sym("<=") => (BinOp::LessEq, 5),
        Token::Sym(">=") => (BinOp::GreaterEq, 5),
        Token::Sym("|") => (BinOp::Union, 6),
        _ => return None,
    })
}

/// `is` and `as` bind tighter than every binary operator above.
const TYPE_OP_STRENGTH: u8 = 7;

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn eat(&mut self, sym: &str) -> bool {
        if matches!(self.peek(), Some(Token::Sym(s)) if *s == sym) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, sym: &str) -> Result<(), String> {
        if self.eat(sym) {
            Ok(())
        } else {
            Err(format!("expected {sym:?} at token {}", self.pos))
        }
    }

    /// Precedence climbing: operators binding more strongly than `min` are folded in.
    fn expression(&mut self, min: u8) -> Result<Ast, String> {
        let mut left = self.postfix()?;
        loop {
            if let Some(Token::Ident(w)) = self.peek()
                && (w == "is" || w == "as")
                && TYPE_OP_STRENGTH > min
            {
                let is_test = w == "is";
                self.pos += 1;
                let type_name = self.type_specifier()?;
                left = Ast::TypeOp {
                    expr: Box::new(left),
                    is_test,
                    type_name,
                };
                continue;
            }
            match self.peek().and_then(binary_op) {
                Some((op, strength)) if strength > min => {
                    self.pos += 1;
                    let right = self.expression(strength)?;
                    left = Ast::Binary(op, Box::new(left), Box::new(right));
                }
                _ => return Ok(left),
            }
        }
    }

    /// `Type` or `FHIR.Type`.
    fn type_specifier(&mut self) -> Result<String, String> {
        let mut name = self.identifier()?;
        while self.eat(".") {
            name = self.identifier()?;
        }
        Ok(name)
    }

    fn identifier(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Token::Ident(w)) => Ok(w),
            t => Err(format!("expected an identifier, found {t:?}")),
        }
    }

    fn postfix(&mut self) -> Result<Ast, String> {
        let mut ast = self.term()?;
        loop {
            if self.eat(".") {
                let name = self.identifier()?;
                if self.eat("(") {
                    let args = self.arguments()?;
                    ast = Ast::Call {
                        target: Some(Box::new(ast)),
                        name,
                        args,
                    };
                } else {
                    ast = Ast::Member(Box::new(ast), name);
                }
            } else if self.eat("[") {
                let index = self.expression(0)?;
                self.expect("]")?;
                ast = Ast::Index(Box::new(ast), Box::new(index));
            } else {
                return Ok(ast);
            }
        }
    }

    fn arguments(&mut self) -> Result<Vec<Ast>, String> {
        let mut args = Vec::new();
        if self.eat(")") {
            return Ok(args);
        }
        loop {
            args.push(self.expression(0)?);
            if self.eat(")") {
                return Ok(args);
            }
            self.expect(",")?;
        }
    }

    fn term(&mut self) -> Result<Ast, String> {
        match self.next() {
            Some(Token::Sym("(")) => {
                let inner = self.expression(0)?;
                self.expect(")")?;
                Ok(inner)
            }
            Some(Token::Str(s)) => Ok(Ast::Str(s)),
            Some(Token::Number(n)) => Ok(Ast::Number(n)),
            Some(Token::Var(v)) => Ok(Ast::Var(v)),
            Some(Token::Ident(w)) if w == "true" || w == "false" => Ok(Ast::Bool(w == "true")),
            Some(Token::Ident(name)) => {
                if self.eat("(") {
                    let args = self.arguments()?;
                    Ok(Ast::Call {
                        target: None,
                        name,
                        args,
                    })
                } else {
                    Ok(Ast::Ident(name))
                }
            }
            t => Err(format!("unexpected {t:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ident(s: &str) -> Box<Ast> {
        Box::new(Ast::Ident(s.into()))
    }
    fn member(t: Box<Ast>, s: &str) -> Box<Ast> {
        Box::new(Ast::Member(t, s.into()))
    }

    #[test]
    fn paths_and_unions() {
        assert_eq!(
            parse("Patient.name").unwrap(),
            *member(ident("Patient"), "name")
        );
        assert_eq!(
            parse("Patient.name.family | Person.name").unwrap(),
            Ast::Binary(
                BinOp::Union,
                member(member(ident("Patient"), "name"), "family"),
                member(ident("Person"), "name")
            )
        );
        assert_eq!(
            parse("Bundle.entry[0].resource").unwrap(),
            *member(
                Box::new(Ast::Index(
                    member(ident("Bundle"), "entry"),
                    Box::new(Ast::Number("0".into()))
                )),
                "resource"
            )
        );
        // `contains` is an operator word elsewhere, but a member name after a dot.
        assert_eq!(
            parse("ValueSet.expansion.contains").unwrap(),
            *member(member(ident("ValueSet"), "expansion"), "contains")
        );
    }

    #[test]
    fn functions_and_type_operators() {
        let ast = parse("Account.subject.where(resolve() is Patient)").unwrap();
        let cond = Ast::TypeOp {
            expr: Box::new(Ast::Call {
                target: None,
                name: "resolve".into(),
                args: vec![],
            }),
            is_test: true,
            type_name: "Patient".into(),
        };
        assert_eq!(
            ast,
            Ast::Call {
                target: Some(member(ident("Account"), "subject")),
                name: "where".into(),
                args: vec![cond]
            }
        );
        let ast = parse("(Observation.value as Quantity) | Observation.value.ofType(FHIR.Range)")
            .unwrap();
        let Ast::Binary(BinOp::Union, l, r) = ast else {
            panic!()
        };
        assert!(
            matches!(*l, Ast::TypeOp { is_test: false, ref type_name, .. } if type_name == "Quantity")
        );
        assert!(matches!(*r, Ast::Call { ref name, .. } if name == "ofType"));
        assert_eq!(
            parse("telecom.where(system='e\\'mail')").unwrap(),
            Ast::Call {
                target: Some(ident("telecom")),
                name: "where".into(),
                args: vec![Ast::Binary(
                    BinOp::Eq,
                    ident("system"),
                    Box::new(Ast::Str("e'mail".into()))
                )]
            }
        );
    }

    #[test]
    fn precedence() {
        // `and` is looser than `!=`, which is looser than `|`.
        let ast = parse("a.exists() and a != false | b").unwrap();
        let Ast::Binary(BinOp::And, _, r) = ast else {
            panic!("{ast:?}")
        };
        let Ast::Binary(BinOp::NotEq, _, r) = *r else {
            panic!()
        };
        assert!(matches!(*r, Ast::Binary(BinOp::Union, ..)));
        let Ast::Binary(BinOp::Or, l, _) = parse("a and b or c").unwrap() else {
            panic!()
        };
        assert!(matches!(*l, Ast::Binary(BinOp::And, ..)));
        assert!(
            matches!(parse("$this.x").unwrap(), Ast::Member(v, _) if *v == Ast::Var("$this".into()))
        );
        assert!(
            matches!(parse("%resource.x").unwrap(), Ast::Member(v, _) if *v == Ast::Var("resource".into()))
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "", "a.", "a.where(", "a[0", "'open", "a ! b", "a b", "(a", "a.b)",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
