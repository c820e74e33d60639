//! Payroll: employees, pay components and salary structures, pay runs and payslips, with
//! Indonesian PPh 21 (TER and Article 17) and BPJS from tenant-editable rule sets.

pub mod calc;
pub mod formula;
pub mod rules;
